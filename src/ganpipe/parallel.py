"""The data stages' per-picture work (drawing the demo, finding faces) spread over the CPU's cores.

``ordered_map(fn, items)`` gives ``fn(item)`` for every item, in the items' order, computed by
worker processes when there is enough work for more than one: the results, and so every file the
stages write, are the same whatever the number of workers. Workers are started with ``spawn``
(a fork of a process that already runs TensorFlow's or a BLAS's threads can deadlock), so ``fn``
must be a module-level function and items and results picklable.

The number of workers is the CPUs this process may use, or ``GANPIPE_THREADS`` where set (the
same knob that sizes TensorFlow's thread pools, for jobs side by side); ``GANPIPE_THREADS=1``
keeps everything in the calling process. A worker that dies (killed, out of memory) stops the map
with one :class:`WorkerError` line; Ctrl-C reaches only the parent, which cancels what is left.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, TypeVar

from . import threads_setting
from .errors import GanpipeError
from .progress import progress

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS_PER_WORKER = 32  # below this a worker's start-up (~0.5 s: Python, NumPy, Pillow) is not paid back


class WorkerError(GanpipeError):
    """A worker process ended without finishing its share (killed by a signal, out of memory)."""


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_count(n_items: int, *, environ=os.environ, min_items: int = MIN_ITEMS_PER_WORKER) -> int:
    """Workers for ``n_items`` items: the CPUs (or ``GANPIPE_THREADS``), at most one per ``min_items`` items."""
    cpus = threads_setting(environ) or available_cpus()
    return max(1, min(cpus, n_items // max(1, min_items)))


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], *, desc: str, unit: str,
                workers: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each of ``items``, in order, with a progress bar labelled ``desc`` (see the module)."""
    items = list(items)
    workers = worker_count(len(items)) if workers is None else max(1, int(workers))
    if workers == 1:
        yield from progress(map(fn, items), desc=desc, unit=unit, total=len(items))
        return
    # small chunks keep the bar moving and both workers busy to the end; large enough to not matter
    chunksize = max(1, min(16, math.ceil(len(items) / (8 * workers))))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint)
    try:
        yield from progress(pool.map(fn, items, chunksize=chunksize), desc=desc, unit=unit, total=len(items))
    except BrokenProcessPool:
        raise WorkerError(f"a worker process died while {desc} (killed, or out of memory?); "
                          f"nothing was written: run again, or with GANPIPE_THREADS=1") from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
