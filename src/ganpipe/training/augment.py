"""Differentiable augmentation for small data (DiffAugment: Zhao et al., 2020), for the GAN's step.

D sees real and generated images through the same random transformations, and G's gradient flows
back through them, so D cannot memorise the few real images while G learns the un-augmented
distribution. The transformations, on images (n, H, W, C) in [-1, 1]:

- ``color``: brightness + U[-0.5, 0.5], saturation x U[0, 2] (around the pixel's channel mean),
  contrast x U[0.5, 1.5] (around the image mean);
- ``translation``: a shift by up to 1/8 of the side in each direction, zero (grey) padded;
- ``cutout``: a square of half the side, at a random place, set to zero (grey).

Each image's parameters are drawn for the whole (global) batch from a stateless key and then
sliced like the batch, so a replica of a distributed run augments its slice exactly as one device
augments the whole batch. Only training sees augmented images: samples, grids and scores never do.
"""

from __future__ import annotations

import tensorflow as tf

POLICIES = ("color", "translation", "cutout")


def draw_params(policy: tuple[str, ...], key, n: int) -> dict[str, tf.Tensor]:
    """The random parameters of ``n`` images for ``policy``, from a stateless ``key`` (shape [2])."""
    keys = iter(tf.unstack(tf.random.experimental.stateless_split(key, num=6)))
    params = {}
    if "color" in policy:
        params["brightness"] = tf.random.stateless_uniform([n, 1, 1, 1], next(keys), -0.5, 0.5)
        params["saturation"] = tf.random.stateless_uniform([n, 1, 1, 1], next(keys), 0.0, 2.0)
        params["contrast"] = tf.random.stateless_uniform([n, 1, 1, 1], next(keys), 0.5, 1.5)
    else:
        next(keys), next(keys), next(keys)
    if "translation" in policy:
        params["shift"] = tf.random.stateless_uniform([n, 2], next(keys), -0.125, 0.125)
    else:
        next(keys)
    if "cutout" in policy:
        params["cutout"] = tf.random.stateless_uniform([n, 2], next(keys), 0.0, 1.0)
    return params


def augment(images: tf.Tensor, params: dict[str, tf.Tensor]) -> tf.Tensor:
    """``images`` (n, H, W, C) float in [-1, 1] transformed by ``params`` (see :func:`draw_params`)."""
    x = images
    if "brightness" in params:
        x = x + tf.cast(params["brightness"], x.dtype) * 2.0  # the paper's [-0.5, 0.5] is on a [0, 1] scale
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * tf.cast(params["saturation"], x.dtype) + mean
        mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
        x = (x - mean) * tf.cast(params["contrast"], x.dtype) + mean
    if "shift" in params:
        x = _translate(x, params["shift"])
    if "cutout" in params:
        x = x * tf.cast(_cutout_mask(tf.shape(x), params["cutout"]), x.dtype)
    return x


def _translate(x: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
    """Shift each image by ``shift`` (n, 2) of its height and width (rounded to pixels), zero padded."""
    shape = tf.shape(x)
    h, w = shape[1], shape[2]
    dy = tf.cast(tf.round(shift[:, 0] * tf.cast(h, tf.float32)), tf.int32)
    dx = tf.cast(tf.round(shift[:, 1] * tf.cast(w, tf.float32)), tf.int32)
    rows = tf.range(h)[None, :] - dy[:, None]  # (n, H): source row of each target row
    cols = tf.range(w)[None, :] - dx[:, None]
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    gathered = tf.gather(x, tf.clip_by_value(rows, 0, h - 1), axis=1, batch_dims=1)
    gathered = tf.gather(gathered, tf.clip_by_value(cols, 0, w - 1), axis=2, batch_dims=1)
    return gathered * tf.cast(valid[..., None], x.dtype)


def _cutout_mask(shape, where: tf.Tensor) -> tf.Tensor:
    """(n, H, W, 1) of ones with a zero square of half the side whose centre is at ``where`` (n, 2) in [0, 1)."""
    h, w = shape[1], shape[2]
    size_h, size_w = h // 2, w // 2
    top = tf.cast(where[:, 0] * tf.cast(h + 1 - size_h % 2, tf.float32), tf.int32) - size_h // 2
    left = tf.cast(where[:, 1] * tf.cast(w + 1 - size_w % 2, tf.float32), tf.int32) - size_w // 2
    rows = tf.range(h)[None, :]
    cols = tf.range(w)[None, :]
    inside_r = (rows >= top[:, None]) & (rows < top[:, None] + size_h)
    inside_c = (cols >= left[:, None]) & (cols < left[:, None] + size_w)
    hole = inside_r[:, :, None] & inside_c[:, None, :]
    return tf.cast(~hole, tf.float32)[..., None]
