"""FLOP counts of a GAN training step from the layer shapes, and this machine's measured fp32 rate."""

from __future__ import annotations

import math
import time


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one forward pass for ONE example, from Dense/Conv2D/Conv2DTranspose/ResizeConv2D shapes.

    Elementwise layers (activations, BatchNorm, reshapes) are left out: they are a few percent at most.
    """
    from keras import layers

    from ganpipe.models.layers import ResizeConv2D

    total = 0
    for layer in model.layers:
        if isinstance(layer, ResizeConv2D):  # counted as the 3x3 convolution of the upsampled image it computes
            h, w, _ = layer.output.shape[1:]
            total += 2 * 9 * layer.input.shape[-1] * layer.filters * h * w
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
        elif isinstance(layer, layers.Conv2DTranspose):  # every input pixel scatters a kernel
            h, w, cin = layer.input.shape[1:]
            total += 2 * math.prod(layer.kernel_size) * cin * layer.filters * h * w
        elif isinstance(layer, layers.Conv2D):
            h, w, _ = layer.output.shape[1:]
            cin = layer.input.shape[-1]
            total += 2 * math.prod(layer.kernel_size) * cin * layer.filters * h * w
    return total


def step_flops(generator, discriminator, batch_size: int) -> int:
    """FLOPs of one GAN step as the seed recipe does it.

    G forward for the fakes (F_G); D forward+backward on real and on fake (2 x 3 F_D); the G update:
    G forward, D forward, D backward to its input (F_D), G backward (2 F_G). Total 4 F_G + 8 F_D per example.
    """
    return batch_size * (4 * forward_flops(generator) + 8 * forward_flops(discriminator))


def matmul_gflops(n: int = 2048, seconds: float = 2.0) -> float:
    """This machine's fp32 matmul rate (GFLOP/s), best of repeated n x n products over ``seconds``."""
    import tensorflow as tf

    a = tf.random.stateless_normal([n, n], [1, 2])
    b = tf.random.stateless_normal([n, n], [3, 4])
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b)
    best, end = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < end:
        started = time.perf_counter()
        float(matmul(a, b))
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9
