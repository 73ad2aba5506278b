"""tf.distribute for real on this machine, each run compared with a single-device run of the same settings.

MirroredStrategy runs in a child process whose CPU is split into 2 logical devices;
MultiWorkerMirroredStrategy runs as two worker processes on 127.0.0.1 (TF_CONFIG each). Both
train the real ``train.mnist`` section (the dense GAN, BatchNorm in G) shrunk to 6 steps at batch
16, 8 examples per replica. The mirrored run uses plain SGD: Adam divides the gradient by its own
running scale, so only SGD shows whether the summed replica gradients equal the single-device
mean gradient; the multi-worker run keeps the section's Adam.

Tolerances, derived rather than fitted to one CPU: a distributed step computes the same sums in
another order (per-replica partial sums and an all-reduce; synchronised BatchNorm's
E[x^2] - E[x]^2), so float32 rounding differs, by kernels that differ from CPU to CPU (measured:
weights 1.8e-7 apart with AVX-512 kernels, 2.7e-5 with AVX2 ones, ONEDNN_MAX_CPU_ISA=AVX2).
- Weights: rounding alone moves a weight by a few float32 epsilons of its magnitude. The largest
  gap comes from a kink: D's LeakyReLU(0.2) has slope 1 or 0.2, and a pre-activation within
  rounding of 0 can take the other side on one example, changing that unit's gradient by at most
  (1 - 0.2) / (examples per replica, 8) = 10% of a step's update. So every tensor must agree to
  10% of its largest movement during the run plus 16 epsilons of its magnitude. (The 2.7e-5 gap
  was 2% of its tensor's movement.)
- Losses: a logged loss is a float32 reduction over at most 1024 x 16 terms, whose rounding is
  bounded by n * eps = 16384 * 1.2e-7 = 2e-3, relative.
Both are far from the errors the tests exist to catch, measured the same way: without
synchronised BatchNorm (Adam) weights differ by 0.2 and losses by 5%; gradients twice too large
(SGD) move weights by 100% of their movement and losses by 0.2.
The dense GAN is the right subject: the anime DCGAN amplifies rounding so fast that a one-device
run with its weights nudged by 1e-7 drifts by 1e-4 within 3 steps, so a tight bound there would
measure chaos, not correctness.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from ganpipe.config import TrainConfig, load_section
from ganpipe.errors import GanpipeError
from ganpipe.training import distribute

from .conftest import save_params, shrunk_params, train_args

EPS32 = float(np.finfo(np.float32).eps)
KINK_SHARE = (1 - 0.2) / 8      # LeakyReLU slope change on one of 8 examples per replica
LOSS_RTOL, LOSS_ATOL = 1024 * 16 * EPS32, 1e-6
TIMEOUT_S = 120
CHILD = Path(__file__).with_name("distributed_child.py")
SHRUNK = dict(epochs=6, batch_size=16, history_interval=2, sample_interval=5, fresh_sample_interval=0,
              steps_per_execution=1, checkpoint_interval=0)


def write_params(folder: Path, **changes) -> Path:
    return save_params(folder, shrunk_params("mnist", **{**SHRUNK, **changes}))


def stage_args(params: Path, data: Path, out: Path, checkpoints: bool = False) -> list[str]:
    return train_args("mnist", params, data, out, checkpoints=checkpoints)


@contextlib.contextmanager
def child_processes():
    """Yield a function starting ``distributed_child.py`` processes; every one still running at the end is killed."""
    procs = []

    def start(args, log: Path, env=None):
        with open(log, "w") as fh:
            proc = subprocess.Popen([sys.executable, str(CHILD), *args], stdout=fh, stderr=subprocess.STDOUT,
                                    env={**os.environ, **(env or {})}, start_new_session=True)
        procs.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole session: TF's own threads and any children
            proc.wait()


def wait_all(procs, logs, deadline: float) -> list[str]:
    """Wait for every process until ``deadline`` (monotonic); fail with its log if one fails or runs over."""
    for proc, log in zip(procs, logs):
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{log.name} still running at its deadline:\n{log.read_text()[-3000:]}")
        assert proc.returncode == 0, f"{log.name} exited {proc.returncode}:\n{log.read_text()[-3000:]}"
    return [log.read_text() for log in logs]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


SGD = dict(optimizer="sgd", lr=0.01, d_lr=0.01)  # train.dense_sgd's rates


@pytest.fixture(scope="module")
def single_run(tmp_path_factory, mnist_dir):
    """The reference for given changes: the shrunk section on one device, in this process, no XLA (as distributed)."""
    from ganpipe.training.run import RunPaths, train_run

    runs = {}

    def run(**changes) -> Path:
        key = tuple(sorted(changes.items()))
        if key not in runs:
            out = tmp_path_factory.mktemp("single")
            cfg = load_section(write_params(out, **changes, strategy="single", xla=False), "train.mnist", TrainConfig)
            train_run(cfg, RunPaths(data=mnist_dir, models=out / "models", reports=out / "reports"), progress=False)
            runs[key] = out
        return runs[key]

    return run


def initial_weights(params: Path) -> dict[str, list[np.ndarray]]:
    """The networks every run of ``params`` starts from (built as the train stage builds them)."""
    from ganpipe.training.networks import build_networks

    cfg = load_section(params, "train.mnist", TrainConfig)
    generator, discriminator = build_networks(cfg, (28, 28, 1), seed=cfg.seed)
    return {"generator.keras": generator.get_weights(), "discriminator.keras": discriminator.get_weights()}


def assert_matches_single(out: Path, single: Path) -> None:
    start = initial_weights(single / "params.yaml")
    for name in ("generator.keras", "discriminator.keras"):
        got = keras.models.load_model(out / "models" / name).get_weights()
        want = keras.models.load_model(single / "models" / name).get_weights()
        assert len(got) == len(want) == len(start[name])
        for i, (a, b, w0) in enumerate(zip(got, want, start[name])):
            tol = KINK_SHARE * np.abs(b - w0).max() + 16 * EPS32 * np.abs(b).max()
            np.testing.assert_allclose(a, b, rtol=0, atol=tol, err_msg=f"{name} weight {i}")
    log, ref = (np.loadtxt(folder / "reports" / "training_log.txt", skiprows=1) for folder in (out, single))
    assert log.shape == ref.shape
    np.testing.assert_allclose(log, ref, rtol=LOSS_RTOL, atol=LOSS_ATOL)
    for name in ("d_loss", "d_acc", "g_loss"):
        got, want = (np.loadtxt(folder / "reports" / "history" / f"{name}.txt") for folder in (out, single))
        np.testing.assert_allclose(got, want, rtol=LOSS_RTOL, atol=LOSS_ATOL, err_msg=name)


@pytest.mark.slow  # a whole DAG, clones or several processes: `make test-slow`, run by .ci/run
def test_mirrored_over_two_cpu_devices_matches_one_device(tmp_path, mnist_dir, single_run):
    """Also: xla falls back with a message, and a checkpoint restores every replica's copy."""
    params = write_params(tmp_path, **SGD, strategy="mirrored", xla=True)
    with child_processes() as start:
        log = tmp_path / "mirrored.log"
        deadline = time.monotonic() + TIMEOUT_S
        proc = start(["2", "--resume-check", str(tmp_path / "ckpt"), "--", *stage_args(params, mnist_dir, tmp_path)], log)
        single = single_run(**SGD)  # while the child starts
        (text,) = wait_all([proc], [log], deadline)
    assert "xla: off under a tf.distribute strategy" in text
    check = json.loads(next(line for line in text.splitlines() if line.startswith("resume-check: ")).split(": ", 1)[1])
    assert check == {"replicas": 2, "copies_restored": True, "max_loss_difference": 0.0}
    assert_matches_single(tmp_path, single)


@pytest.mark.slow  # a whole DAG, clones or several processes: `make test-slow`, run by .ci/run
def test_multi_worker_two_processes_match_one_device(tmp_path, mnist_dir, single_run):
    """Two workers on 127.0.0.1, both told the same output folders: the chief writes them, worker 1 only scratch."""
    params = write_params(tmp_path, strategy="multi_worker")
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs, logs, scratch = [], [], []
    with child_processes() as start:
        deadline = time.monotonic() + TIMEOUT_S
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            scratch.append(tmp_path / f"tmp{index}")
            scratch[-1].mkdir()
            logs.append(tmp_path / f"worker{index}.log")
            procs.append(start(["1", "--", *stage_args(params, mnist_dir, tmp_path)], logs[-1],
                               env={"TF_CONFIG": json.dumps(tf_config), "TMPDIR": str(scratch[-1])}))
        single = single_run()  # while the workers start
        texts = wait_all(procs, logs, deadline)
    assert all("train mnist: 6 steps" in text for text in texts)
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == [
        "discriminator.keras", "generator.json", "generator.keras", "generator_live.keras", "generator_model_6.h5"]
    assert list(scratch[1].iterdir()) == [], "worker 1 removes its scratch outputs"
    assert_matches_single(tmp_path, single)


def start_workers(start, params: Path, data: Path, out: Path, tag: str, checkpoints: bool = False):
    """Two worker processes of one multi-worker run on fresh 127.0.0.1 ports; returns (procs, logs)."""
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs, logs = [], []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        logs.append(out / f"{tag}-worker{index}.log")
        procs.append(start(["1", "--", *stage_args(params, data, out, checkpoints)], logs[-1],
                           env={"TF_CONFIG": json.dumps(tf_config)}))
    return procs, logs


def newest_checkpoint(folder: Path) -> int:
    return max((int(p.stem.split("-")[1]) for p in folder.glob("ckpt-*.npz")), default=0)


@pytest.mark.slow  # a whole DAG, clones or several processes: `make test-slow`, run by .ci/run
def test_multi_worker_killed_worker_restarted_with_the_other_resumes(tmp_path, mnist_dir):
    """Worker 1 is killed mid-run; the chief, stuck without it, is stopped too; both restarted
    resume from the chief's last checkpoint and end where an uninterrupted two-worker run ends."""
    # each phase has its own deadline: a slow CI machine took 240 s for all three at 300 steps
    changes = dict(strategy="multi_worker", epochs=160, checkpoint_interval=20, history_interval=20)
    straight_dir, broken_dir = tmp_path / "straight", tmp_path / "broken"
    with child_processes() as start:
        params = write_params(straight_dir, **changes)
        wait_all(*start_workers(start, params, mnist_dir, straight_dir, "straight"), time.monotonic() + 2 * TIMEOUT_S)
        params = write_params(broken_dir, **changes)
        deadline = time.monotonic() + 2 * TIMEOUT_S
        procs, logs = start_workers(start, params, mnist_dir, broken_dir, "first", checkpoints=True)
        while newest_checkpoint(broken_dir / "ckpt") < 40:
            assert all(p.poll() is None for p in procs), "\n".join(log.read_text()[-2000:] for log in logs)
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.01)
        os.killpg(procs[1].pid, signal.SIGKILL)
        os.killpg(procs[0].pid, signal.SIGKILL)  # a chief waiting on a dead peer: the operator restarts all
        for proc in procs:
            proc.wait()
        assert not (broken_dir / "models").exists()
        texts = wait_all(*start_workers(start, params, mnist_dir, broken_dir, "again", checkpoints=True),
                         time.monotonic() + 2 * TIMEOUT_S)
    steps = [int(text.split("(resumed at step ")[1].split(")")[0]) for text in texts]
    assert steps[0] == steps[1] >= 40, texts
    for name in ("training_log.txt", "history/g_loss.txt"):
        assert (broken_dir / "reports" / name).read_bytes() == (straight_dir / "reports" / name).read_bytes(), name
    for name in ("generator.keras", "discriminator.keras"):
        assert (broken_dir / "models" / name).read_bytes() == (straight_dir / "models" / name).read_bytes(), name
    assert not list((broken_dir / "ckpt").glob("ckpt-*.npz")), "the chief removes the checkpoints at the end"


# -- settings and TF_CONFIG, no training ----------------------------------------------------------

GOOD_TF_CONFIG = {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}, "task": {"type": "worker", "index": 1}}


@pytest.mark.parametrize("value, expected", [
    (None, "TF_CONFIG is not set"),
    ("{not json", "TF_CONFIG is not valid JSON"),
    (json.dumps({"task": {"type": "worker", "index": 0}}), "expected a 'cluster' mapping"),
    (json.dumps({**GOOD_TF_CONFIG, "cluster": {"worker": ["10.0.0.1:2222"], "ps": ["h:1"]}}), "cluster job 'ps' is not used"),
    (json.dumps({**GOOD_TF_CONFIG, "cluster": {"worker": ["10.0.0.1"]}}), "cluster.worker: expected a list of \"host:port\""),
    (json.dumps({**GOOD_TF_CONFIG, "task": {"type": "evaluator", "index": 0}}), "expected 'task'"),
    (json.dumps({**GOOD_TF_CONFIG, "task": {"type": "worker", "index": 2}}), "task.index must be 0..1 for the worker list, got 2"),
])
def test_bad_tf_config_is_a_clear_error(value, expected):
    with pytest.raises(GanpipeError, match="strategy multi_worker: TF_CONFIG") as err:
        distribute.read_tf_config(value)
    assert expected in str(err.value)


def test_good_tf_config_and_chief():
    assert distribute.read_tf_config(json.dumps(GOOD_TF_CONFIG)) == GOOD_TF_CONFIG

    class Resolver:
        def __init__(self, task_type, task_id, jobs):
            self.task_type, self.task_id, self._jobs = task_type, task_id, jobs

        def cluster_spec(self):
            return type("Spec", (), {"as_dict": lambda _: {job: ["h:1"] for job in self._jobs}})()

    def strategy(*args):
        return type("Strategy", (), {"cluster_resolver": Resolver(*args)})()

    assert distribute.is_chief(None)
    assert distribute.is_chief(strategy("worker", 0, ["worker"]))
    assert not distribute.is_chief(strategy("worker", 1, ["worker"]))
    assert not distribute.is_chief(strategy("worker", 0, ["chief", "worker"]))
    assert distribute.is_chief(strategy("chief", 0, ["chief", "worker"]))


def test_auto_is_single_without_several_gpus():
    import tensorflow as tf

    several = len(tf.config.list_physical_devices("GPU")) > 1
    assert distribute.resolve("auto") == ("mirrored" if several else "single")
    assert distribute.make_strategy("single") is None


def test_multi_worker_stage_errors(tmp_path, mnist_dir, monkeypatch):
    """No TF_CONFIG: one clear error before any training."""
    from ganpipe.training.run import RunPaths, train_run

    monkeypatch.delenv("TF_CONFIG", raising=False)
    cfg = load_section(write_params(tmp_path, strategy="multi_worker"), "train.mnist", TrainConfig)
    paths = RunPaths(data=mnist_dir, models=tmp_path / "m", reports=tmp_path / "r")
    with pytest.raises(GanpipeError, match="strategy multi_worker: TF_CONFIG is not set"):
        train_run(cfg, paths, progress=False, where="params.yaml: train.mnist")
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()
