"""Saving and loading trained networks, and what a saved generator needs to be sampled.

A model folder (``models/<run>/``) holds ``generator.keras``, ``discriminator.keras``, the legacy
``generator_model_<epochs>.h5`` and ``generator.json``: the :class:`GeneratorSpec` that every
reader (``ganpipe generate``, the evaluate stages) uses instead of ``params.yaml``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import GanpipeError
from ..fileio import atomic_dir

if TYPE_CHECKING:  # Keras (TensorFlow) is imported where a model is loaded: reading a spec needs neither
    import keras

GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
SPEC_FILE = "generator.json"


@dataclass(frozen=True)
class GeneratorSpec:
    """How to sample a saved generator, and how to rebuild its untrained twin.

    ``kind`` is the data kind it learned (ganpipe.data.kinds: digits, pictures, values), which
    says how its samples are pictured and scored; ``output_range`` is the kind's: [-1, 1] for images
    (tanh) and null for 1-D values (a linear output).
    """

    run: str
    arch: str
    model: dict
    latent_dim: int
    noise: str                 # normal: N(0,1) | uniform: U[-1,1] | uniform01: U[0,1]
    output_shape: tuple        # one sample, e.g. (28, 28, 1) or (1,)
    output_range: tuple | None
    kind: str                  # the data kind's name
    seed: int                  # the run's seed: its initial weights, and its fixed sample-grid noise
    precision: str
    steps: int                 # training steps behind these weights
    d_resets: tuple = ()       # steps before which D was re-initialised (the burn-in): marks on the plots
    weights: str = "live"      # "ema": generator.keras is the moving average of G's weights; "live": G's own
    best_step: int | None = None  # scored snapshots: the steps done when the exported weights scored best

    @classmethod
    def from_config(cls, cfg, *, run: str, kind, output_shape: tuple) -> "GeneratorSpec":
        """The spec of a run of ``cfg`` (a TrainConfig) named ``run`` on data of ``kind`` (a DataKind)
        whose examples have ``output_shape``, trained to the end, its live or moving-average weights."""
        return cls(run=run, arch=cfg.arch, model=dict(cfg.model), latent_dim=cfg.latent_dim, noise=cfg.noise,
                   output_shape=tuple(int(d) for d in output_shape), output_range=kind.output_range,
                   kind=kind.name, seed=cfg.seed, precision=cfg.precision, steps=cfg.epochs,
                   d_resets=tuple(s for s in cfg.reset_discriminator_at if s < cfg.epochs),
                   weights="ema" if cfg.ema_half_life > 0 else "live")

    def noise_batch(self, seed: int, count: int, *, stream: int = -1) -> np.ndarray:
        """(count, latent_dim) float32 noise of this generator's kind, from (seed, stream)."""
        from .gan import fixed_noise

        return fixed_noise(seed, count, self.latent_dim, self.noise, stream=stream)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str) -> "GeneratorSpec":
        try:
            raw = json.loads(text)
            if isinstance(raw, dict) and "output_shape" in raw and "kind" not in raw:
                raise GanpipeError(f"{where}: records no data kind (written by an older ganpipe: rerun the train stage)")
            raw["output_shape"] = tuple(raw["output_shape"])
            raw["output_range"] = tuple(raw["output_range"]) if raw["output_range"] is not None else None
            raw["d_resets"] = tuple(raw.get("d_resets", ()))
            return cls(**raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise GanpipeError(f"{where}: not a ganpipe generator spec ({type(exc).__name__}: {exc})") from None


def save_models(folder: str | os.PathLike, generator: keras.Model, discriminator: keras.Model, *,
                spec: GeneratorSpec, extra: dict | None = None) -> list[str]:
    """Write ``folder`` as a unit: generator.keras, discriminator.keras (Keras 3 format), generator.json
    (``spec``), and ``generator_model_<steps>.h5`` (the legacy HDF5 file the original program saved);
    ``extra`` maps further file names to models. Every file holds Keras' own layers only
    (:func:`ganpipe.models.layers.standard_layers`). Returns the file names.
    """
    from ..models.layers import standard_layers

    legacy = f"generator_model_{spec.steps}.h5"
    # Keras' own layers only: the files load in plain Keras, without ganpipe's fused layers
    models = {name: standard_layers(model) for name, model in
              {GENERATOR_FILE: generator, DISCRIMINATOR_FILE: discriminator, **(extra or {})}.items()}
    with atomic_dir(folder) as tmp:
        for name, model in models.items():
            save_stable(model, tmp / name)
        (tmp / SPEC_FILE).write_text(spec.to_json(), encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns that HDF5 is a legacy format: that is the point here
            models[GENERATOR_FILE].save(tmp / legacy)
    return [*models, SPEC_FILE, legacy]


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
    import keras

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


def read_spec(path: str | os.PathLike) -> GeneratorSpec | None:
    """The spec beside a generator: ``generator.json`` in a model folder or in a model file's folder (None if absent)."""
    path = Path(path)
    spec = (path if path.is_dir() else path.parent) / SPEC_FILE
    if not spec.is_file():
        return None
    return GeneratorSpec.from_json(spec.read_text(encoding="utf-8"), str(spec))


def load_sampler(path: str | os.PathLike, kind=None) -> tuple[keras.Model, GeneratorSpec]:
    """A generator and its spec, from a model folder or a generator file with ``generator.json`` beside it.

    A generator without a spec (a file from elsewhere) is taken as drawing data of ``kind`` (a
    ganpipe.data.kinds.DataKind, given by the caller) from N(0, 1) noise, the dense GAN's recipe;
    without ``kind`` it is an error. Raises GanpipeError naming the file.
    """
    model = load_generator(path)
    spec = read_spec(path)
    if spec is None and kind is None:
        raise GanpipeError(f"{path}: no {SPEC_FILE} beside the generator (it says how to sample it and how to "
                           "rebuild its untrained twin; rerun the train stage)")
    if spec is None:
        data = kind
        spec = GeneratorSpec(run=Path(path).stem, arch="unknown", model={}, latent_dim=int(model.input_shape[-1]),
                             noise="normal", output_shape=tuple(model.output_shape[1:]), output_range=data.output_range,
                             kind=data.name, seed=0, precision="float32", steps=0)
    elif spec.latent_dim != int(model.input_shape[-1]) or tuple(spec.output_shape) != tuple(model.output_shape[1:]):
        raise GanpipeError(f"{path}: {SPEC_FILE} describes a generator of noise {spec.latent_dim} -> "
                           f"{spec.output_shape}, the model is {model.input_shape[-1]} -> {tuple(model.output_shape[1:])}")
    return model, spec


def load_generator(path: str | os.PathLike) -> keras.Model:
    """Load a generator from a model folder (its generator.keras) or a .keras/.h5 file.

    Raises GanpipeError naming the file if it is missing or not a Keras model with one noise input.
    """
    path = Path(path)
    if path.is_dir():
        path = path / GENERATOR_FILE
    if not path.is_file():
        raise GanpipeError(f"{path}: generator file not found (train first, or give a .keras/.h5 file)")
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a bad file; all mean "not a model"
        raise GanpipeError(f"{path}: not a loadable Keras model ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    shape = model.input_shape
    if not (isinstance(shape, tuple) and len(shape) == 2 and shape[1]):
        raise GanpipeError(f"{path}: expected a generator with one (batch, latent_dim) input, found input shape {shape}")
    return model
