"""Interruption and resume, for real: kill the train stage mid-run, rerun it, compare with a straight run."""

import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from .conftest import save_params, shrunk_params, train_cmd

STEPS = 400


def write_params(tmp_path: Path) -> Path:
    # no XLA: compiling costs each of the test's processes seconds and changes nothing that is resumed
    return save_params(tmp_path, shrunk_params("mnist", epochs=STEPS, batch_size=16, history_interval=20,
                                               sample_interval=100, fresh_sample_interval=50,
                                               checkpoint_interval=40, steps_per_execution=5, xla=False))


def stage_cmd(params, data, out: Path):
    return train_cmd("mnist", params, data, out, checkpoints=True)


def outputs(out: Path) -> dict[str, bytes]:
    """Everything a run leaves that must not depend on interruptions (timing.json aside)."""
    files = {}
    for path in sorted((out / "reports").rglob("*")):
        if path.is_file() and path.name != "timing.json":
            files[str(path.relative_to(out))] = path.read_bytes()
    for path in sorted((out / "models").iterdir()):
        files[path.name] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def straight(tmp_path_factory, mnist_dir):
    tmp = tmp_path_factory.mktemp("straight")
    params = write_params(tmp)
    subprocess.run(stage_cmd(params, mnist_dir, tmp), check=True, capture_output=True, timeout=600)
    assert not list((tmp / "ckpt").glob("ckpt-*.npz")), "checkpoints are removed after a completed run"
    return outputs(tmp)


def newest_checkpoint_step(folder: Path) -> int:
    return max((int(p.stem.split("-")[1]) for p in folder.glob("ckpt-*.npz")), default=0)


def interrupt_then_resume(tmp: Path, data: Path, sig: int, wait_for_checkpoints: int) -> str:
    """Start the stage, send ``sig`` once the checkpoint after step 40*wait_for_checkpoints exists, rerun."""
    params = write_params(tmp)
    proc = subprocess.Popen(stage_cmd(params, data, tmp), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while newest_checkpoint_step(tmp / "ckpt") < 40 * wait_for_checkpoints:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the run was interrupted before it finished"
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, err
        last = err.decode().strip().splitlines()[-1]
        assert re.fullmatch(rf"ganpipe: interrupted \(stopped by signal {int(sig)}; checkpoint at step (\d+) in "
                            rf"\S+ckpt, rerun to resume\)", last), last
        assert newest_checkpoint_step(tmp / "ckpt") == int(re.search(r"step (\d+)", last).group(1))
    assert not (tmp / "models").exists(), "an interrupted run leaves no model that looks final"
    resumed = subprocess.run(stage_cmd(params, data, tmp), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    return resumed.stdout


@pytest.mark.parametrize("wait_for", [1, pytest.param(3, marks=pytest.mark.slow), pytest.param(6, marks=pytest.mark.slow)])
def test_sigkill_then_rerun_equals_straight_run(tmp_path, mnist_dir, straight, wait_for):
    out = interrupt_then_resume(tmp_path, mnist_dir, signal.SIGKILL, wait_for)
    assert "(resumed at step " in out
    assert outputs(tmp_path) == straight


# one handler for both signals, and test_sigkill_then_rerun_equals_straight_run[1] resumes in the fast tests
@pytest.mark.slow  # two stage processes each, about a minute on 2 cores: `make test-slow`
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl_c", "sigterm"])
def test_signal_writes_a_checkpoint_and_resumes(tmp_path, mnist_dir, straight, sig):
    """Ctrl-C, and SIGTERM (dvc queue kill, CI cancellation, preemption), save the step reached, not only
    the last interval's, and exit 130 with one line saying where; the rerun resumes there."""
    out = interrupt_then_resume(tmp_path, mnist_dir, sig, 1)
    step = int(out.split("(resumed at step ")[1].split(")")[0])
    assert step >= 40 and step % 5 == 0, "a whole execution of 5 steps"
    assert outputs(tmp_path) == straight


def test_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path, mnist_dir):
    """A half-written newest checkpoint is skipped with a warning; training resumes from the one before."""
    import warnings

    import keras

    from ganpipe.training import checkpoint

    w = keras.Variable(np.zeros(3, np.float32))
    checkpoint.save(tmp_path, steps_done=40, variables=[w], records={"history": np.ones((2, 4))}, fingerprint="f")
    w.assign(np.ones(3, np.float32))
    newest = checkpoint.save(tmp_path, steps_done=80, variables=[w], records={"history": np.ones((4, 4))}, fingerprint="f")
    newest.write_bytes(newest.read_bytes()[: len(newest.read_bytes()) // 2])
    w.assign(np.full(3, 7, np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        steps, records = checkpoint.load_latest(tmp_path, variables=[w], fingerprint="f")
        assert checkpoint.load_latest(tmp_path, variables=[w], fingerprint="other") is None
    assert steps == 40 and records["history"].shape == (2, 4)
    np.testing.assert_array_equal(np.asarray(w), np.zeros(3))
    assert any("ckpt-000000080.npz: damaged checkpoint skipped" in str(c.message) for c in caught)
