"""Experiments side by side: `dvc queue start -j 2` runs two queued experiments at once, each on its share
of the CPU (GANPIPE_THREADS=1), and both end exactly as when each runs alone in the workspace with the
same thread count (the count is part of a float32 result's bits, as the CPU is: docs/scaling.md)."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from .conftest import DVC, dvc_project, one_run_pipeline, sh, shrunk_params

RUN = "mnist"
SEEDS = (1, 2)


def project(root):
    """The real pipeline cut to prepare_mnist and one run's training (no scorers: eval_interval 0), committed
    after a first `dvc repro`, so that experiments rerun the training only."""
    params = shrunk_params(RUN, eval_interval=0, xla=False)
    params["runs"] = {RUN: params["runs"][RUN]}
    return dvc_project(root, params, one_run_pipeline(RUN), repro=True), DVC


def queue_states(root, env, dvc) -> dict[str, str]:
    """`dvc queue status` as {experiment name: Queued | Running | Success | Failed}."""
    out = sh(dvc + ["queue", "status"], root, env)
    return {m[1]: m[2] for m in re.finditer(r"^\w+\s+(\S+)\s.*\s(Queued|Running|Success|Failed)\s*$", out, re.M)}


def training_here(root) -> int:
    """How many train stage processes run in temporary workspaces of the project at ``root`` right now."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:  # gone, or not ours to read
            continue
        # the Python process itself (`-m ganpipe.stages.train`), not the shell DVC starts it through ($SHELL -c "...")
        count += b"ganpipe.stages.train" in cmdline.split(b"\0") and cwd.startswith(str(root / ".dvc/tmp/exps"))
    return count


def experiments(root, env, dvc) -> dict[str, dict]:
    """Each experiment's name -> its run's metrics.json and the hash of its model folder (from its dvc.lock)."""
    shown = subprocess.run(dvc + ["exp", "show", "--json"], cwd=root, env=env, capture_output=True, text=True,
                           timeout=300, check=True)
    found = {}
    for commit in json.loads(shown.stdout):
        for exp in commit.get("experiments") or []:
            for rev in exp["revs"]:
                metrics = (rev.get("data") or {}).get("metrics", {}).get(f"reports/{RUN}/metrics.json", {})
                lock = yaml.safe_load(sh(["git", "show", f"{rev['rev']}:dvc.lock"], root, env))
                outs = lock["stages"][f"train@{RUN}"]["outs"]
                found[rev["name"]] = {"metrics": metrics.get("data"),
                                      "model": next(o["md5"] for o in outs if o["path"] == f"models/{RUN}")}
    return found


@pytest.mark.slow  # two queued and two single experiments of a few steps each: 2-3 minutes
def test_queue_runs_two_experiments_side_by_side_with_the_results_of_single_runs(tmp_path):
    root = tmp_path / "proj"
    env, dvc = project(root)
    for seed in SEEDS:
        sh(dvc + ["exp", "run", "--queue", "-n", f"queued-{seed}", "-S", f"train.{RUN}.seed={seed}"], root, env)
    try:
        # the workers it starts outlive it and inherit its output: a pipe there would stay open until they end
        with open(tmp_path / "queue-start.log", "w") as log:
            subprocess.run(dvc + ["queue", "start", "-j", "2"], cwd=root, env=dict(env, GANPIPE_THREADS="1"),
                           stdout=log, stderr=subprocess.STDOUT, timeout=120, check=True)
        most_at_once, deadline, next_status = 0, time.monotonic() + 600, 0.0
        while True:
            most_at_once = max(most_at_once, training_here(root))
            if time.monotonic() > next_status:  # `dvc queue status` takes seconds; the process count does not
                states = queue_states(root, env, dvc)
                if states and not {"Queued", "Running"} & set(states.values()):
                    break
                assert time.monotonic() < deadline, f"the queue did not finish in 10 minutes: {states}"
                next_status = time.monotonic() + 2
            time.sleep(0.2)
    finally:
        subprocess.run(dvc + ["queue", "stop"], cwd=root, env=env, capture_output=True, timeout=120)
    assert states == {f"queued-{seed}": "Success" for seed in SEEDS}, states
    assert most_at_once == 2, "the two experiments never trained at the same time"
    for seed in SEEDS:
        log = sh(dvc + ["queue", "logs", f"queued-{seed}"], root, env)
        assert f"Running stage 'train@{RUN}'" in log, log  # trained, not restored from the run cache

    # each alone, in the workspace, with the same one thread (float32 sums split over more threads round
    # differently: 2 threads moved d_loss by 2e-9 here); -f: train again rather than restore the queued run
    for seed in SEEDS:
        out = sh(dvc + ["exp", "run", "-f", "-n", f"alone-{seed}", "-S", f"train.{RUN}.seed={seed}"], root,
                 dict(env, GANPIPE_THREADS="1"))
        assert f"Running stage 'train@{RUN}'" in out, out

    found = experiments(root, env, dvc)
    for seed in SEEDS:
        queued, alone = found[f"queued-{seed}"], found[f"alone-{seed}"]
        assert queued["metrics"] and queued["metrics"]["step"] == shrunk_params()["train"][RUN]["epochs"] - 1
        assert queued == alone, (seed, queued, alone)
    assert found["queued-1"]["model"] != found["queued-2"]["model"]  # the seeds did matter
