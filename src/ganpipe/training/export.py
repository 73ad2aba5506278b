"""Saving and loading trained networks."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
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
        for model, name in ((generator, GENERATOR_FILE), (discriminator, DISCRIMINATOR_FILE)):
            save_stable(model, tmp / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns that HDF5 is a legacy format: that is the point here
            generator.save(tmp / legacy)
    return [GENERATOR_FILE, DISCRIMINATOR_FILE, legacy]


def save_stable(model: keras.Model, path: str | os.PathLike) -> None:
    """``model.save(path)`` as a ``.keras`` file whose bytes depend on the model only (:func:`make_keras_file_stable`)."""
    model.save(path)
    make_keras_file_stable(path)


def load_made_model(path: str | os.PathLike, stage: str) -> keras.Model:
    """Load the ``.keras`` file a pipeline stage wrote (a judge, a feature extractor); GanpipeError naming
    the file and ``stage`` if it is not there."""
    path = Path(path)
    if not path.is_file():
        raise GanpipeError(f"{path}: not found (run the {stage} stage first)")
    return keras.models.load_model(path)


_FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def make_keras_file_stable(path: str | os.PathLike) -> None:
    """Rewrite a ``.keras`` zip so equal models give equal bytes.

    Keras stamps the save time into ``metadata.json`` ("date_saved") and into the zip entry of the
    weights file, and writes Python object ids as ``shared_object_id`` into ``config.json``; DVC
    would then see a changed model on every rerun. The dates are fixed and the ids renumbered
    0, 1, 2, ... in order of appearance (sharing is kept: equal ids stay equal); the file loads as before.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in members:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = "1980-01-01@00:00:00"
                data = json.dumps(meta, indent=4).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared_ids(json.loads(data), {})).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_DATE)
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            dst.writestr(fixed, data)


def _renumber_shared_ids(node, ids: dict):
    if isinstance(node, dict):
        return {key: (ids.setdefault(value, len(ids)) if key == "shared_object_id" else _renumber_shared_ids(value, ids))
                for key, value in node.items()}
    if isinstance(node, list):
        return [_renumber_shared_ids(item, ids) for item in node]
    return node


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
