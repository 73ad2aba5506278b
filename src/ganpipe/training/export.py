"""Saving and loading trained networks."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import keras

from ..errors import GanpipeError
from ..fileio import atomic_dir

GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"


def save_models(folder: str | os.PathLike, generator: keras.Model, discriminator: keras.Model, *, epochs: int) -> list[str]:
    """Write ``folder`` as a unit: generator.keras, discriminator.keras (Keras 3 format), and
    ``generator_model_<epochs>.h5`` (the legacy HDF5 file the original program saved). Returns the file names.
    """
    legacy = f"generator_model_{epochs}.h5"
    with atomic_dir(folder) as tmp:
        generator.save(tmp / GENERATOR_FILE)
        discriminator.save(tmp / DISCRIMINATOR_FILE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns that HDF5 is a legacy format: that is the point here
            generator.save(tmp / legacy)
    return [GENERATOR_FILE, DISCRIMINATOR_FILE, legacy]


def load_generator(path: str | os.PathLike) -> keras.Model:
    """Load a generator from a model folder (its generator.keras) or a .keras/.h5 file.

    Raises GanpipeError naming the file if it is missing or not a Keras model with one noise input.
    """
    path = Path(path)
    if path.is_dir():
        path = path / GENERATOR_FILE
    if not path.is_file():
        raise GanpipeError(f"{path}: generator file not found (train first, or give a .keras/.h5 file)")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a model"
        raise GanpipeError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 2 and shape[1]):
        raise GanpipeError(f"{path}: expected a generator with one (batch, latent_dim) input, found input shape {shape}")
    return model
