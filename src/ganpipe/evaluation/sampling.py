"""What every evaluation scores: samples of the trained generator, and of the same generator untrained."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import GanpipeError


def load_checked_generator(models_dir: str | os.PathLike, image_shape: tuple[int, ...], data_dir: str | os.PathLike):
    """The saved generator of ``models_dir``; GanpipeError if it draws images of another shape than the data's."""
    from ..training.export import load_generator

    generator = load_generator(models_dir)
    if tuple(generator.output_shape[1:]) != tuple(image_shape):
        raise GanpipeError(f"{models_dir}: the generator draws {tuple(generator.output_shape[1:])} images, "
                           f"the data in {data_dir} is {tuple(image_shape)}")
    return generator


def trained_and_untrained(generator, train_cfg, *, seed: int, count: int, image_shape: tuple[int, ...],
                          batch_size: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """``count`` float32 samples in [-1, 1] from ``generator`` and from an untrained twin, on the same fixed noise.

    The twin is the trained run's starting point: ``train_cfg``'s architecture, seed and precision,
    with the saved generator's latent size.
    """
    from ..training.gan import fixed_noise
    from ..training.networks import build_networks

    latent = int(generator.input_shape[-1])
    noise = fixed_noise(seed, count, latent, train_cfg.noise)
    generated = np.asarray(generator.predict(noise, batch_size=batch_size, verbose=0), np.float32)
    untrained, _ = build_networks(dataclasses.replace(train_cfg, latent_dim=latent), image_shape, seed=train_cfg.seed)
    baseline = np.asarray(untrained.predict(noise, batch_size=batch_size, verbose=0), np.float32)
    return generated, baseline
