"""What every evaluation scores: samples of the trained generator, and of the same generator untrained.

Everything needed comes from the model folder's ``generator.json`` (a GeneratorSpec): the noise
kind and latent size to sample with, and the architecture, options, seed and precision that rebuild
the run's starting point. No evaluation reads ``train.<name>`` from params.yaml.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import GanpipeError


def load_checked_generator(models_dir: str | os.PathLike, sample_shape: tuple[int, ...], data_dir: str | os.PathLike):
    """``(generator, spec)`` of the model folder ``models_dir``.

    GanpipeError if the folder has no generator.json (a generator saved before specs existed, or by
    something else: retrain it) or if the generator draws samples of another shape than the data's ``sample_shape``.
    """
    from ..training.export import load_sampler

    generator, spec = load_sampler(models_dir)  # no kind: without generator.json it is an error, not a guess
    if tuple(generator.output_shape[1:]) != tuple(sample_shape):
        raise GanpipeError(f"{models_dir}: the generator draws samples of shape {tuple(generator.output_shape[1:])}, "
                           f"the data in {data_dir} has shape {tuple(sample_shape)}")
    return generator, spec


def build_untrained(spec):
    """The generator of ``spec``'s run before its first step: a fresh Keras model with its initial weights.

    Built by the train stage's own builder on one device (``build_networks``, which reads only
    ``arch``, ``model``, ``latent_dim`` and ``precision``, all of which a spec carries), seeded with the
    run's seed, so the weights are exactly those training started from.
    """
    from ..training.networks import build_networks

    generator, _ = build_networks(spec, tuple(spec.output_shape), seed=spec.seed)
    return generator


def trained_and_untrained(generator, spec, *, seed: int, count: int,
                          batch_size: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """``count`` float32 samples from ``generator`` and from its untrained twin (:func:`build_untrained`),
    on the same fixed noise: ``spec``'s noise kind and latent size, drawn from ``seed``.

    Shapes (count, *spec.output_shape); images lie in [-1, 1].
    """
    noise = spec.noise_batch(seed, count)
    generated = np.asarray(generator.predict(noise, batch_size=batch_size, verbose=0), np.float32)
    baseline = np.asarray(build_untrained(spec).predict(noise, batch_size=batch_size, verbose=0), np.float32)
    return generated, baseline
