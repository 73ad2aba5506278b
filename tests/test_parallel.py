"""ganpipe.parallel: the data stages' per-picture work over worker processes, same results in any number."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest

from ganpipe import parallel
from ganpipe.config import PreparePicturesConfig
from ganpipe.data import anime_demo
from ganpipe.data.faces import extract_faces

CFG = PreparePicturesConfig(raw_dir="unused", detect=True, threshold=0.95, margin=0.15, image_size=64, min_face_size=32)


def test_worker_count_follows_cpus_threads_and_work():
    assert parallel.worker_count(1000, environ={"GANPIPE_THREADS": "1"}) == 1
    assert parallel.worker_count(1000, environ={"GANPIPE_THREADS": "3"}) == 3
    assert parallel.worker_count(40, environ={"GANPIPE_THREADS": "3"}, min_items=32) == 1  # too little work for two
    assert parallel.worker_count(64, environ={"GANPIPE_THREADS": "3"}, min_items=32) == 2
    assert parallel.worker_count(10**6, environ={}) == parallel.available_cpus()
    assert parallel.worker_count(0, environ={}) == 1
    with pytest.raises(ValueError, match="GANPIPE_THREADS='two'"):  # the same rule as the thread pools'
        parallel.worker_count(1000, environ={"GANPIPE_THREADS": "two"})


def test_ordered_map_keeps_order_with_workers():
    items = list(range(-50, 50))
    assert list(parallel.ordered_map(abs, items, desc="testing", unit="item", workers=2)) == [abs(i) for i in items]
    assert list(parallel.ordered_map(abs, items, desc="testing", unit="item", workers=1)) == [abs(i) for i in items]


def test_a_killed_worker_is_one_line_error():
    with pytest.raises(parallel.WorkerError, match="a worker process died while drawing .*GANPIPE_THREADS=1"):
        list(parallel.ordered_map(os._exit, [3] * 8, desc="drawing", unit="picture", workers=2))


def test_demo_and_faces_same_with_two_workers_as_with_one(tmp_path, monkeypatch):
    count = 2 * parallel.MIN_ITEMS_PER_WORKER + 2
    runs = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("GANPIPE_THREADS", threads)
        assert parallel.worker_count(count) == int(threads)
        paths = anime_demo.make_demo(tmp_path / threads, count, seed=5)
        faces, manifest = extract_faces(tmp_path / threads, dataclasses.replace(CFG, raw_dir=str(tmp_path / threads)))
        manifest["source"] = manifest["settings"]["raw_dir"] = None
        runs[threads] = [p.read_bytes() for p in paths], faces, manifest
    (scenes1, faces1, manifest1), (scenes2, faces2, manifest2) = runs["1"], runs["2"]
    assert scenes1 == scenes2
    assert len(faces1) >= count // 2
    np.testing.assert_array_equal(faces1, faces2)
    assert manifest1 == manifest2
