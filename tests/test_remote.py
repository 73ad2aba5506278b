"""Sharing results through a DVC remote: repro + push on one clone, clone + pull on another, nothing recomputed.

The README's "Sharing data and models between machines" flow, with a local-directory remote standing
in for S3: the first clone runs the (shrunk) pipeline, versions a raw anime folder with ``dvc add``,
commits, ``dvc push``es and ``git push``es; a second ``git clone`` + ``dvc pull`` gets byte-identical
data and models, ``dvc status`` is clean, ``dvc repro`` runs nothing and ``ganpipe generate`` works.

Each clone runs its own ``src`` (``PYTHONPATH``) with bytecode writing on, as a user's Python does: a
``__pycache__`` that DVC hashed into a directory dependency would make the other clone look out of date.
"""

import filecmp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

RAW_ANIME = "data/raw/anime"  # the "user's own" picture folder, versioned with `dvc add`
# the stages kept from dvc.yaml (train and plots run for train.mnist only): every kind of output and of
# dependency (a dvc-added folder, pulled data and models, git-tracked reports, params, code folders);
# the other stages, each a few seconds of TensorFlow start-up more, are left out to keep the test short
STAGES = ("fingerprint", "prepare_mnist", "prepare_pictures", "train", "plots")


def sh(args, cwd, env, timeout=300):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} (in {cwd}) failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def clone_env(clone: Path) -> dict:
    """A fixed git identity, no analytics, and the clone's own code on the path (as after `make install` there)."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               PYTHONPATH=str(clone / "src"),
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", GIT_CONFIG_NOSYSTEM="1", DVC_NO_ANALYTICS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # users' Pythons write __pycache__ next to the code
    return env


def tiny_pipeline() -> dict:
    """The real dvc.yaml, with only the STAGES."""
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    missing = set(STAGES) - set(pipeline["stages"])
    assert not missing, f"dvc.yaml has no stage {missing}: update STAGES in this test"
    pipeline["stages"] = {name: stage for name, stage in pipeline["stages"].items() if name in STAGES}
    train = pipeline["stages"]["train"]["do"]  # no scorer stages here: the tiny run scores no snapshots
    train["deps"] = [d for d in train["deps"] if d != "${item.scorer}"]
    return pipeline


def tiny_params() -> dict:
    """The real params.yaml, cut to the mnist experiment at a few steps, reading the dvc-added anime folder."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["runs"] = {"mnist": params["runs"]["mnist"]}
    params["prepare_pictures"]["anime"]["raw_dir"] = RAW_ANIME
    params["train"]["mnist"].update(epochs=5, batch_size=4, history_interval=2, sample_interval=3,
                                    fresh_sample_interval=0, checkpoint_interval=0, steps_per_execution=1,
                                    eval_interval=0, xla=False)  # speed only: saves the XLA compile
    return params


def output_files(root: Path) -> list[str]:
    """Every file of the outputs in dvc.lock and in the .dvc files, relative to ``root``."""
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    outs = [root / out["path"] for stage in lock["stages"].values() for out in stage.get("outs", [])]
    for dvcfile in root.rglob("*.dvc"):
        if dvcfile.is_file() and ".dvc" not in dvcfile.relative_to(root).parts[:-1]:
            outs += [dvcfile.parent / out["path"] for out in yaml.safe_load(dvcfile.read_text())["outs"]]
    files = [f for out in outs for f in ([out] if out.is_file() else out.rglob("*")) if f.is_file()]
    return sorted(str(f.relative_to(root)) for f in files)


def pycache_note(root: Path) -> str:
    found = sorted(str(p.relative_to(root)) for p in (root / "src").rglob("__pycache__"))
    return f"\n__pycache__ folders in {root.name}/src, hashed unless .dvcignore lists them: {found}" if found else ""


@pytest.mark.slow  # a whole DAG, clones or several processes: `make test-slow`, run by .ci/run
def test_push_then_clone_and_pull_needs_no_recompute(tmp_path):
    origin, storage = tmp_path / "origin.git", tmp_path / "dvc-storage"
    first, second = tmp_path / "first", tmp_path / "second"
    env1, env2 = clone_env(first), clone_env(second)
    dvc = [sys.executable, "-m", "dvc"]

    # machine 1: the project, a raw anime folder under `dvc add`, the pipeline, push
    first.mkdir()
    shutil.copy(REPO / ".gitignore", first)
    (first / "dvc.yaml").write_text(yaml.safe_dump(tiny_pipeline(), sort_keys=False))
    shutil.copytree(REPO / "src", first / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    (first / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    sh(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path, env1)
    sh(["git", "init", "-q", "-b", "main"], first, env1)
    sh(dvc + ["init", "-q"], first, env1)
    shutil.copy(REPO / ".dvcignore", first)
    sh(dvc + ["config", "core.analytics", "false"], first, env1)
    sh(dvc + ["remote", "add", "-d", "storage", str(storage)], first, env1)

    (tmp_path / "raw.yaml").write_text(yaml.safe_dump({"make_anime_demo": {"count": 3, "seed": 7}}))
    sh([sys.executable, "-m", "ganpipe.stages.make_anime_demo", "--params", str(tmp_path / "raw.yaml"),
        "--out", RAW_ANIME], first, env1)
    sh(dvc + ["add", RAW_ANIME], first, env1)
    sh(["git", "add", "-A"], first, env1)
    sh(["git", "commit", "-qm", "project, remote, raw anime folder"], first, env1)  # DVCLive needs a commit

    ran = sh(dvc + ["repro"], first, env1)
    for stage in ("prepare_mnist", "prepare_pictures@anime", "train@mnist", "plots@mnist"):
        assert f"Running stage '{stage}'" in ran, ran
    status = sh(dvc + ["status"], first, env1)
    assert "Data and pipelines are up to date" in status, status
    lock = yaml.safe_load((first / "dvc.lock").read_text())
    assert RAW_ANIME in [dep["path"] for dep in lock["stages"]["prepare_pictures@anime"]["deps"]]
    sh(["git", "add", "-A"], first, env1)
    sh(["git", "commit", "-qm", "pipeline run"], first, env1)
    sh(dvc + ["push"], first, env1)
    cloud = sh(dvc + ["status", "--cloud"], first, env1)
    assert "are in sync" in cloud, cloud
    sh(["git", "remote", "add", "origin", str(origin)], first, env1)
    sh(["git", "push", "-q", "origin", "main"], first, env1)
    assert f"url = {storage}" in (first / ".dvc/config").read_text()

    # machine 2: clone and pull; nothing is out of date and nothing reruns
    sh(["git", "clone", "-q", str(origin), str(second)], tmp_path, env2)
    assert not (second / "models/mnist").exists() and not (second / RAW_ANIME).exists()
    sh(dvc + ["pull"], second, env2)
    status = sh(dvc + ["status"], second, env2)
    assert "Data and pipelines are up to date" in status, status + pycache_note(first)
    again = sh(dvc + ["repro"], second, env2)
    assert "Running stage" not in again, again

    # the pulled files are the first clone's, byte for byte, the raw anime folder included
    files = output_files(first)
    assert files == output_files(second), (files, output_files(second))
    assert "models/mnist/generator.keras" in files and "data/mnist/imagesTrain.bin" in files
    assert sum(f.startswith(RAW_ANIME + "/") for f in files) == 3, files
    differing = [f for f in files if not filecmp.cmp(first / f, second / f, shallow=False)]
    assert not differing, differing

    out = sh([sys.executable, "-m", "ganpipe.cli", "generate", "models/mnist", "--n", "4", "--grid", "2x2",
              "--seed", "1", "--out", "x.png"], second, env2)
    assert "4 images" in out, out
    assert (second / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    status = sh(dvc + ["status"], second, env2)  # running the code changed no dependency
    assert "Data and pipelines are up to date" in status, status + pycache_note(second)
