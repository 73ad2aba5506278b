"""The trained generators as DVC model artifacts: `dvc artifacts get` fetches one into an empty folder,
from a repository and its remote, and `ganpipe generate` samples it there."""

import os
import shutil
import sys

import pytest
import yaml

from .conftest import DVC, REPO, dvc_project, one_run_pipeline, png_size, sh, shrunk_params

RUN = "mnist"


def test_every_default_run_is_a_model_artifact_at_its_model_folder():
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    runs = yaml.safe_load((REPO / "params.yaml").read_text())["runs"]
    artifacts = pipeline.get("artifacts") or {}
    assert set(artifacts) == set(runs), "one artifact per run in params.yaml `runs` (README: Experiments)"
    for name, artifact in artifacts.items():
        assert artifact["type"] == "model" and artifact["path"] == f"models/{name}", (name, artifact)
    train_outs = pipeline["stages"]["train"]["do"]["outs"]
    assert "models/${key}" in train_outs, "the artifacts' paths are train@<run>'s model folders"


@pytest.mark.slow  # a DVC repository, a training run, a remote: about 40 s
def test_artifacts_get_fetches_a_generator_that_ganpipe_generate_samples(tmp_path):
    repo, storage, got = tmp_path / "repo", tmp_path / "dvc-storage", tmp_path / "got"
    dvc = DVC
    # the real pipeline cut to the data and the training of one run (no scorers: eval_interval 0)
    params = shrunk_params(RUN, eval_interval=0, xla=False)
    params["runs"] = {RUN: params["runs"][RUN]}
    env = dvc_project(repo, params, one_run_pipeline(RUN))
    sh(dvc + ["remote", "add", "-d", "storage", str(storage)], repo, env)
    sh(["git", "commit", "-qam", "remote"], repo, env)
    sh(dvc + ["repro"], repo, env)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "trained"], repo, env)
    sh(dvc + ["push"], repo, env)
    # `dvc artifacts get` fetches a registered version: a git tag <name>@v<semver> (GTO, the model registry
    # tool installed with DVC, writes one; so does `git tag`), whose dvc.yaml says where the artifact is
    gto = [os.path.join(os.path.dirname(sys.executable), "gto")]
    sh(gto + ["register", RUN], repo, env)
    assert sh(["git", "tag"], repo, env).split() == [f"{RUN}@v0.0.1"]
    assert f'"{RUN}"' in sh(gto + ["show", "--json"], repo, env)

    # from the repository's committed dvc.yaml and its remote (not its cache, which goes), into an empty folder
    shutil.rmtree(repo / ".dvc/cache")
    got.mkdir()
    sh(dvc + ["artifacts", "get", str(repo), RUN, "-o", "generator"], got, env)
    fetched = sorted(p.name for p in (got / "generator").iterdir())
    assert {"generator.keras", "generator.json"} <= set(fetched), fetched
    assert (got / "generator/generator.keras").read_bytes() == (repo / f"models/{RUN}/generator.keras").read_bytes()

    out = sh([sys.executable, "-m", "ganpipe.cli", "generate", "generator", "--n", "4", "--grid", "2x2",
              "--seed", "1", "--out", "samples.png"], got, env)
    assert "4 images" in out, out
    assert png_size(got / "samples.png")[0] > 0
    assert sorted(p.name for p in got.iterdir()) == ["generator", "samples.png"]
