"""Seeded distortions of image batches: the judge's training augmentation and the graded corruptions
that validate a scorer (a trustworthy score rises with the level of each).

Every function takes float images (n, H, W, C) in [-1, 1] and a ``numpy.random.Generator`` (or a
level and a seed) and returns a new float32 array of the same shape, clipped to [-1, 1]. The same
seed gives the same bytes, so a judge trained on distorted digits is as reproducible as one trained
on the digits alone.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


# images distorted per batch of random draws: the stream is drawn in the same order whatever the batch,
# and a batch's fields and maps (float64, 2 x 784 per digit) stay small for 60,000 digits too
CHUNK = 1024


def _as_float(images) -> np.ndarray:
    x = np.asarray(images, np.float32)
    if x.ndim != 4:
        raise ValueError(f"expected images (n, H, W, C), got shape {x.shape}")
    return x


def _warp(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Resample each channel of one image (H, W, C) at the given source coordinates (H, W), linear,
    with the background (-1) outside."""
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        out[..., c] = ndimage.map_coordinates(x[..., c], [rows, cols], order=1, mode="constant", cval=-1.0)
    return out


def _warped_in_batches(x: np.ndarray, source_maps) -> np.ndarray:
    """Each image of ``x`` resampled at its source coordinates: ``source_maps(n)`` draws the next ``n``
    images' maps, rows and columns (n, H, W) each, a batch of :data:`CHUNK` images at a time."""
    out = np.empty_like(x)
    for start in range(0, len(x), CHUNK):
        part = x[start:start + CHUNK]
        rows, cols = source_maps(len(part))
        for i, image in enumerate(part):
            out[start + i] = _warp(image, rows[i], cols[i])
    return out


def elastic(images, rng: np.random.Generator, *, alpha: float, sigma: float) -> np.ndarray:
    """Elastic distortion (Simard et al. 2003): each pixel moves by a random field smoothed with a
    Gaussian of ``sigma`` pixels and scaled by ``alpha`` pixels."""
    x = _as_float(images)
    h, w = x.shape[1:3]
    grid_r, grid_c = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")

    def source_maps(n):
        # each image's row field, then its column field: the order of drawing them one image at a time,
        # smoothed image by image (the same arithmetic, in one call)
        fields = rng.uniform(-1, 1, (n, 2, h, w))
        moves = ndimage.gaussian_filter(fields, sigma, mode="constant", axes=(2, 3)) * alpha
        return grid_r + moves[:, 0], grid_c + moves[:, 1]

    return _warped_in_batches(x, source_maps)


def affine(images, rng: np.random.Generator, *, degrees: float, scale: float, shift: float) -> np.ndarray:
    """Random rotation (up to ``degrees``), zoom (1 ± ``scale``) and shift (up to ``shift`` pixels)
    about each image's centre."""
    x = _as_float(images)
    h, w = x.shape[1:3]
    centre = np.array([(h - 1) / 2, (w - 1) / 2])
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij")).reshape(2, -1).astype(np.float64)
    # per image: angle, zoom, shift down, shift across, drawn by Generator.uniform element by element
    # in the order one image at a time draws them
    low, high = [-degrees, 1 - scale, -shift, -shift], [degrees, 1 + scale, shift, shift]

    def source_maps(n):
        u = rng.uniform(low, high, (n, 4))
        angle, zoom, move = np.deg2rad(u[:, 0]), u[:, 1], u[:, 2:]
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        inverse = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)  # (n, 2, 2)
        source = inverse @ (grid - centre[:, None] - move[:, :, None]) + centre[:, None]  # a matmul per image
        return source[:, 0].reshape(n, h, w), source[:, 1].reshape(n, h, w)

    return _warped_in_batches(x, source_maps)


def augment_digits(images, seed: int) -> np.ndarray:
    """The judge's training augmentation: a small affine jitter (±12°, ±10% zoom, ±2 px), then an
    elastic distortion (alpha 6, sigma 3) on half of the digits."""
    rng = np.random.default_rng(seed)
    x = affine(images, rng, degrees=12, scale=0.1, shift=2)
    bent = rng.random(len(x)) < 0.5
    if bent.any():
        x[bent] = elastic(x[bent], rng, alpha=6.0, sigma=3.0)
    return np.clip(x, -1, 1)


def augment_digits_pass(job: tuple[np.ndarray, int]) -> np.ndarray:
    """:func:`augment_digits` of ``(images, seed)``: one pass of the judge's training set, as a worker
    process computes it (this module imports no TensorFlow, so a worker starts in a second)."""
    images, seed = job
    return augment_digits(images, seed)


# --- graded corruptions for validating a scorer (level 0 = the images as they are) ----------------------

def noise(images, level: float, seed: int = 0) -> np.ndarray:
    """Additive Gaussian noise of standard deviation ``level`` (in the [-1, 1] range)."""
    x = _as_float(images)
    return np.clip(x + np.random.default_rng(seed).normal(0, level, x.shape).astype(np.float32), -1, 1)


def blur(images, level: float, seed: int = 0) -> np.ndarray:
    """Gaussian blur of ``level`` pixels (standard deviation), per image and channel."""
    x = _as_float(images)
    if level <= 0:
        return x.copy()
    return ndimage.gaussian_filter(x, sigma=(0, level, level, 0), mode="nearest").astype(np.float32)


def erase(images, level: float, seed: int = 0) -> np.ndarray:
    """A random rectangle covering ``level`` of each image's area set to the background (-1)."""
    x = _as_float(images).copy()
    if level <= 0:
        return x
    rng = np.random.default_rng(seed)
    h, w = x.shape[1:3]
    side_h, side_w = max(1, round(h * np.sqrt(level))), max(1, round(w * np.sqrt(level)))
    for image in x:
        top, left = rng.integers(0, h - side_h + 1), rng.integers(0, w - side_w + 1)
        image[top:top + side_h, left:left + side_w] = -1.0
    return x


def elastic_level(images, level: float, seed: int = 0) -> np.ndarray:
    """Elastic distortion of strength ``level`` (alpha in pixels, sigma 3 for 28-pixel images, scaled with the side)."""
    x = _as_float(images)
    if level <= 0:
        return x.copy()
    side = x.shape[1] / 28
    return elastic(x, np.random.default_rng(seed), alpha=level * side, sigma=3.0 * side)


# name -> (function, levels from none to heavy): the table of docs/quality.md
GRADED = {
    "noise": (noise, (0.0, 0.1, 0.2, 0.4)),
    "blur": (blur, (0.0, 0.5, 1.0, 1.5)),
    "erase": (erase, (0.0, 0.05, 0.15, 0.3)),
    "elastic": (elastic_level, (0.0, 4.0, 8.0, 16.0)),
}
