"""The 1-D Gaussian GAN's data: a seeded pool of samples from N(mean, variance) as float32 .bin.

``data/gauss1d/samples.bin`` holds headerless float32 values (one per sample, native little-endian);
``manifest.json`` beside it records the target's mean and variance, which the evaluation reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_dir, write_array, write_json_atomic

SAMPLES_FILE = "samples.bin"
MANIFEST_FILE = "manifest.json"


def write_gauss1d(folder: str | os.PathLike, *, mean: float, variance: float, count: int, seed: int) -> dict:
    """Draw ``count`` values from N(mean, variance) with ``np.random.default_rng(seed)``; write folder as a unit."""
    values = np.random.default_rng(seed).normal(mean, np.sqrt(variance), count).astype("<f4")
    with atomic_dir(folder) as tmp:
        record = write_array(tmp / SAMPLES_FILE, values)
        manifest = {"kind": "values", "format": "headerless float32 little-endian, one value per sample", "mean": mean,
                    "variance": variance, "count": count, "seed": seed, "sha256": record["sha256"]}
        write_json_atomic(tmp / MANIFEST_FILE, manifest)
    return manifest


def read_gauss1d_manifest(folder: str | os.PathLike) -> dict:
    """The manifest of a gauss1d folder: the target's mean and variance, the pool's count and seed."""
    path = Path(folder) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the prepare_gauss1d stage first?)") from None
    except ValueError as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None


def read_gauss1d(folder: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """float32 samples (N, 1) and the manifest of a gauss1d folder."""
    path = Path(folder) / SAMPLES_FILE
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the prepare_gauss1d stage first?)") from None
    manifest = read_gauss1d_manifest(folder)
    if size == 0 or size % 4:
        raise DataError(f"{path}: size {size} bytes is not a positive multiple of 4 (float32 values)")
    return np.fromfile(path, dtype="<f4").astype(np.float32, copy=False).reshape(-1, 1), manifest
