"""The trained generators as DVC model artifacts: `dvc artifacts get` fetches one into an empty folder,
from a repository and its remote, and `ganpipe generate` samples it there."""

import os
import shutil
import sys

import pytest
import yaml

from .conftest import REPO, png_size, sh, shrunk_params

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
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               PYTHONPATH=str(repo / "src"), DVC_NO_ANALYTICS="1", GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com")
    dvc = [sys.executable, "-m", "dvc"]

    # the real pipeline cut to the data and the training of one run (no scorers: eval_interval 0)
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    pipeline["stages"] = {name: pipeline["stages"][name] for name in ("prepare_mnist", "train")}
    deps = pipeline["stages"]["train"]["do"]["deps"]
    pipeline["stages"]["train"]["do"]["deps"] = [d for d in deps if d not in ("models/judge", "models/face_features")]
    params = shrunk_params(RUN, eval_interval=0, xla=False)
    params["runs"] = {RUN: "data/mnist"}
    repo.mkdir()
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name in (".gitignore", ".dvcignore"):
        (repo / name).write_text((REPO / name).read_text())
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    sh(["git", "init", "-q", "-b", "main"], repo, env)
    sh(dvc + ["init", "-q"], repo, env)
    sh(dvc + ["config", "core.analytics", "false"], repo, env)
    sh(dvc + ["remote", "add", "-d", "storage", str(storage)], repo, env)
    sh(["git", "add", "-A"], repo, env)
    sh(["git", "commit", "-qm", "project"], repo, env)
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
