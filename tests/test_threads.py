"""GANPIPE_THREADS: one knob that sizes TensorFlow's thread pools and NumPy's BLAS in every ganpipe process."""

import os
import subprocess
import sys

import pytest

import ganpipe

# imports ganpipe first, as every stage and `ganpipe` do, then counts the threads TensorFlow's first op
# starts (its intra-op and inter-op pools, sized when the devices are created) and NumPy's BLAS threads
PROBE = """
import os
import ganpipe
import numpy, threadpoolctl
import tensorflow as tf
before = len(os.listdir("/proc/self/task"))
tf.matmul(tf.ones((8, 8)), tf.ones((8, 8))).numpy()
started = len(os.listdir("/proc/self/task")) - before
blas = max(pool["num_threads"] for pool in threadpoolctl.threadpool_info())
print(started, blas, os.environ["TF_NUM_INTRAOP_THREADS"], os.environ["TF_FORCE_GPU_ALLOW_GROWTH"])
"""


def probe(threads: str) -> tuple[int, int, str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ganpipe.THREAD_VARIABLES}
    proc = subprocess.run([sys.executable, "-c", PROBE], env=dict(env, GANPIPE_THREADS=threads),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    started, blas, intra, growth = proc.stdout.split()
    return int(started), int(blas), intra, growth


def test_ganpipe_threads_sizes_tensorflows_pools_and_blas():
    one, three = probe("1"), probe("3")
    # each extra thread is one more in the intra-op pool and one more in the inter-op pool
    assert three[0] - one[0] == 2 * (3 - 1), (one, three)
    assert one[1] == 1, "NumPy's BLAS should run on one thread"
    assert one[2] == "1" and three[2] == "3"
    assert one[3] == "true"  # GPUs grow their memory instead of taking it all


def test_limit_threads_sets_every_variable_and_rejects_nonsense():
    env = {"GANPIPE_THREADS": " 2 "}
    assert ganpipe.limit_threads(env) == 2
    assert {name: env[name] for name in ganpipe.THREAD_VARIABLES} == dict.fromkeys(ganpipe.THREAD_VARIABLES, "2")
    assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    unset = {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}  # a user's own setting wins
    assert ganpipe.limit_threads(unset) is None
    assert unset == {"TF_FORCE_GPU_ALLOW_GROWTH": "false"}
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="GANPIPE_THREADS"):
            ganpipe.limit_threads({"GANPIPE_THREADS": bad})
