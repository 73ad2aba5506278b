"""``auto`` for xla and precision: the rules by network and machine, and what a run resolves them to."""

import dataclasses

import pytest

from ganpipe.training import hardware

AVX2 = frozenset({"avx2", "fma"})
AVX512 = AVX2 | {"avx512f", "avx512bw"}
AVX512_BF16 = AVX512 | {"avx512_bf16"}


@pytest.mark.parametrize("arch, gpu, gpu_bf16, flags, expected", [
    ("dcgan64", False, False, AVX512_BF16, "mixed_bfloat16"),
    ("dcgan64", False, False, AVX512, "float32"),
    ("dcgan64", False, False, AVX2, "float32"),
    ("dcgan64", True, True, AVX2, "mixed_bfloat16"),
    ("dcgan64", True, False, AVX512_BF16, "float32"),
    ("dense", False, False, AVX512_BF16, "float32"),
    ("dense", True, True, AVX2, "float32"),
])
def test_precision_rule(arch, gpu, gpu_bf16, flags, expected):
    assert hardware.pick_precision(arch, gpu=gpu, gpu_bf16=gpu_bf16, flags=flags)[0] == expected


@pytest.mark.parametrize("arch, gpu, flags, expected", [
    ("dcgan64", False, AVX2, True),
    ("dcgan64", False, AVX512, False),
    ("dcgan64", True, AVX512, True),
    ("dense", False, AVX512, True),
    ("gauss1d", False, AVX2, True),
])
def test_xla_rule(arch, gpu, flags, expected):
    assert hardware.pick_xla(arch, gpu=gpu, flags=flags)[0] is expected


def test_resolve_makes_auto_concrete_and_says_why(tiny_train_cfg):
    cfg, note = hardware.resolve(dataclasses.replace(tiny_train_cfg, xla="auto", precision="auto"))
    assert cfg.xla is True and cfg.precision == "float32"  # the dense GAN, on any machine
    assert note.startswith("auto: precision float32 (dense is dense") and "xla true" in note
    same, none = hardware.resolve(tiny_train_cfg)
    assert same == tiny_train_cfg and none is None


def test_config_takes_auto_and_refuses_other_words(tmp_path):
    from ganpipe.config import TrainConfig, load_section
    from ganpipe.errors import ConfigError

    from .conftest import save_params, shrunk_params

    cfg = load_section(save_params(tmp_path, shrunk_params(xla="auto", precision="auto")), "train.mnist", TrainConfig)
    assert (cfg.xla, cfg.precision) == ("auto", "auto")
    with pytest.raises(ConfigError, match=r"train.mnist.xla: expected true, false or auto, got 'fast'"):
        load_section(save_params(tmp_path, shrunk_params(xla="fast")), "train.mnist", TrainConfig)
