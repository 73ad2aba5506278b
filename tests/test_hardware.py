"""``auto`` for xla and precision: the rules by network and machine, and what a run resolves them to."""

import dataclasses
import json

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


@pytest.mark.parametrize("arch, model, gpu, flags, expected", [
    ("dcgan64", {}, False, AVX2, True),
    ("dcgan64", {"width": 16, "upsample": "resize"}, False, AVX2, False),
    ("dcgan64", {}, False, AVX512, False),
    ("dcgan64", {}, True, AVX512, True),
    ("dense", {}, False, AVX512, True),
    ("gauss1d", {}, False, AVX2, True),
])
def test_xla_rule(arch, model, gpu, flags, expected):
    assert hardware.pick_xla(arch, gpu=gpu, flags=flags, model=model)[0] is expected


def test_resolve_makes_auto_concrete_and_says_why(tiny_train_cfg):
    cfg, note = hardware.resolve(dataclasses.replace(tiny_train_cfg, xla="auto", precision="auto"))
    assert cfg.xla is True and cfg.precision == "float32"  # the dense GAN, on any machine, by the rules (7 steps)
    assert note.startswith("auto: precision float32, xla true by the rules (7 steps are too few")
    assert "dense is dense" in note
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


# ---- auto by measurement: a fake probe (no real timing), the choice, the cache ----

F32, F32_XLA = hardware.Candidate("float32", False), hardware.Candidate("float32", True)
BF16, BF16_XLA = hardware.Candidate("mixed_bfloat16", False), hardware.Candidate("mixed_bfloat16", True)


def test_candidates_put_the_cheap_compile_first_and_offer_bf16_only_with_units(tiny_train_cfg):
    cfg = dataclasses.replace(tiny_train_cfg, arch="dcgan64", xla="auto", precision="auto")
    assert hardware.candidates(cfg, gpu=False, gpu_bf16=False, flags=AVX2) == [F32, F32_XLA]
    assert hardware.candidates(cfg, gpu=False, gpu_bf16=False, flags=AVX512_BF16) == [F32, BF16, F32_XLA, BF16_XLA]
    fixed = dataclasses.replace(cfg, xla=False)
    assert hardware.candidates(fixed, gpu=False, gpu_bf16=False, flags=AVX512_BF16) == [F32, BF16]
    resize = dataclasses.replace(cfg, model={"width": 12, "upsample": "resize"})  # XLA lost >10x on every CPU
    assert hardware.candidates(resize, gpu=False, gpu_bf16=False, flags=AVX512_BF16) == [F32, BF16]
    assert hardware.candidates(resize, gpu=False, gpu_bf16=False, flags=AVX2) == [F32]
    assert hardware.candidates(resize, gpu=True, gpu_bf16=False, flags=AVX2) == [F32, F32_XLA]


def test_choose_takes_the_cheapest_for_the_run_but_keeps_the_rule_within_noise():
    m = hardware.Measurement
    measured = {F32: m(2.0, 0.150), F32_XLA: m(40.0, 0.100), BF16: None}
    assert hardware.choose(measured, 100, rule=F32_XLA) == F32       # short run: XLA's compile does not pay
    assert hardware.choose(measured, 100_000, rule=F32) == F32_XLA    # long run: it does
    close = {F32: m(1.0, 0.100), F32_XLA: m(1.0, 0.098)}
    assert hardware.choose(close, 1000, rule=F32) == F32              # 2% is noise: the rules' pick stays
    assert hardware.choose({F32: None}, 1000, rule=F32) is None


class FakeProbe:
    """Stands for the timed probe: returns fixed measurements and counts its calls."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def __call__(self, cfg, shape, cands):
        self.calls.append((cfg.arch, tuple(shape), tuple(cands)))
        return {c: self.table.get(c) for c in cands}


@pytest.fixture
def anime_cfg(tiny_train_cfg):
    """A DCGAN with transposed convolutions: XLA is a candidate on every CPU."""
    return dataclasses.replace(tiny_train_cfg, arch="dcgan64", model={"width": 16}, epochs=1600, xla="auto",
                               precision="auto")


def probe_env(tmp_path, **more):
    return {"GANPIPE_AUTO_CACHE": str(tmp_path / "auto.json"), **more}


def test_resolve_measures_once_caches_and_records_the_choice(anime_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX2)
    fake = FakeProbe({F32: hardware.Measurement(3.0, 0.15), F32_XLA: None})  # XLA given up: far slower
    cfg, note = hardware.resolve(anime_cfg, environ=probe_env(tmp_path), measure=fake)
    assert (cfg.precision, cfg.xla) == ("float32", False)  # against the rules' pick (XLA on AVX2): measured
    assert fake.calls == [("dcgan64", (64, 64, 3), (F32, F32_XLA))]
    assert note.startswith("auto: precision float32, xla false by a probe on this machine") and "given up" in note
    saved = json.loads((tmp_path / "auto.json").read_text())
    (entry,) = saved["entries"].values()
    assert entry["key"]["arch"] == "dcgan64" and entry["key"]["batch_size"] == anime_cfg.batch_size
    again, note2 = hardware.resolve(anime_cfg, environ=probe_env(tmp_path), measure=fake)
    assert again == cfg and len(fake.calls) == 1, "the same machine and network: the cache answers"
    assert "150.0 ms/step" in note2
    hardware.resolve(dataclasses.replace(anime_cfg, batch_size=64), environ=probe_env(tmp_path), measure=fake)
    assert len(fake.calls) == 2, "another batch size is another key"


def test_resolve_falls_back_to_the_rules_and_says_why(anime_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX2)
    fake = FakeProbe({})
    for cfg, env, why in [(anime_cfg, probe_env(tmp_path, GANPIPE_AUTO="rules"), "GANPIPE_AUTO=rules"),
                          (dataclasses.replace(anime_cfg, epochs=40), probe_env(tmp_path), "40 steps are too few"),
                          (dataclasses.replace(anime_cfg, strategy="multi_worker"), probe_env(tmp_path),
                           "several devices"),
                          (anime_cfg, probe_env(tmp_path), "the probe measured nothing")]:
        resolved, note = hardware.resolve(cfg, environ=env, measure=fake)
        assert (resolved.precision, resolved.xla) == ("float32", True), why
        assert why in note and "transposed convolutions on a CPU without AVX-512 run faster with XLA" in note
    assert len(fake.calls) == 1 and not (tmp_path / "auto.json").exists(), "nothing measured, nothing cached"


def test_one_candidate_left_is_taken_without_a_probe(anime_cfg, tmp_path, monkeypatch):
    resize = dataclasses.replace(anime_cfg, model={"width": 12, "upsample": "resize"})
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX2)
    fake = FakeProbe({F32: hardware.Measurement(3.0, 0.15), BF16: hardware.Measurement(3.0, 0.10)})
    cfg, note = hardware.resolve(resize, environ=probe_env(tmp_path), measure=fake)
    assert (cfg.precision, cfg.xla) == ("float32", False) and not fake.calls
    assert "float32/xla off is the only candidate" in note and not (tmp_path / "auto.json").exists()
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX512_BF16)  # bfloat16 units: two precisions to time
    cfg, note = hardware.resolve(resize, environ=probe_env(tmp_path), measure=fake)
    assert fake.calls == [("dcgan64", (64, 64, 3), (F32, BF16))] and (cfg.precision, cfg.xla) == ("mixed_bfloat16", False)


def test_an_unknown_auto_mode_names_the_variable(anime_cfg, tmp_path):
    from ganpipe.errors import ConfigError

    with pytest.raises(ConfigError, match="GANPIPE_AUTO='fast': expected probe or rules"):
        hardware.resolve(anime_cfg, environ=probe_env(tmp_path, GANPIPE_AUTO="fast"), measure=FakeProbe({}))


def test_a_damaged_cache_is_measured_again(anime_cfg, tmp_path, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: AVX2)
    (tmp_path / "auto.json").write_text("{not json")
    fake = FakeProbe({F32: hardware.Measurement(3.0, 0.15), F32_XLA: hardware.Measurement(30.0, 0.05)})
    cfg, _ = hardware.resolve(anime_cfg, environ=probe_env(tmp_path), measure=fake)
    assert cfg.xla is True and len(fake.calls) == 1  # measured 3x faster over 1,600 steps: against the rules
    assert json.loads((tmp_path / "auto.json").read_text())["version"] == hardware.CACHE_VERSION
