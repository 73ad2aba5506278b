"""ganpipe: a reproducible, data-versioned pipeline that trains Keras GANs and reports on them."""

import os
import time

STARTED = time.time()  # this process's start, near enough: a stage's recorded seconds count from here

# TensorFlow's C++ start-up chatter (oneDNN, XLA service, CPU features) drowns the progress bar;
# real errors still surface as Python exceptions. Set TF_CPP_MIN_LOG_LEVEL=0 to see it all.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# GANPIPE_THREADS=N: the CPU threads of one ganpipe process, for jobs side by side (`dvc queue start -j`).
# Set as the environment variables TensorFlow reads when it creates its devices (at the first op, so any
# time before that; the same pools tf.config.threading would size) and that NumPy's BLAS reads when it
# loads: this module runs before either in every stage and in `ganpipe`, and imports neither, so the
# stages that never use TensorFlow do not pay its start-up for it.
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def threads_setting(environ=os.environ) -> int | None:
    """``GANPIPE_THREADS`` as a whole number >= 1, or None if unset; ValueError naming it otherwise."""
    value = environ.get("GANPIPE_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"GANPIPE_THREADS={value!r}: expected a whole number of threads, at least 1")
    return int(value)


def limit_threads(environ=os.environ) -> int | None:
    """Apply ``GANPIPE_THREADS`` (a whole number >= 1) to :data:`THREAD_VARIABLES`; return it, or None if unset.

    Also asks TensorFlow to grow its GPU memory as needed instead of taking it all at start-up
    (``TF_FORCE_GPU_ALLOW_GROWTH``, unless already set), so jobs can share a GPU; no effect without one.
    """
    environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    threads = threads_setting(environ)
    if threads is not None:
        for name in THREAD_VARIABLES:
            environ[name] = str(threads)
    return threads


limit_threads()

__version__ = "0.1.0"
