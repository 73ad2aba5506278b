"""Stage evaluate_gauss1d: a saved 1-D generator and a gauss1d data folder in, quality.json and histogram.png out."""

import json
import math

import keras
import numpy as np
import pytest

from ganpipe.config import EvaluateGauss1dConfig, load_section
from ganpipe.data.gauss1d import write_gauss1d
from ganpipe.models.registry import build_gan_models
from ganpipe.stages import evaluate_gauss1d
from ganpipe.training.export import GeneratorSpec, save_models

from .conftest import REPO, png_size

PARAMS = REPO / "params.yaml"
SPEC = GeneratorSpec(run="gauss1d", arch="gauss1d", model={"g_hidden": 8, "d_hidden": 8}, latent_dim=1,
                     noise="uniform01", output_shape=(1,), output_range=None, kind="values", seed=0, precision="float32", steps=1)


@pytest.fixture(scope="module")
def gauss_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("g") / "gauss1d"
    write_gauss1d(folder, mean=4.0, variance=1.25, count=2000, seed=0)
    return folder


def affine_generator(scale: float, shift: float) -> keras.Model:
    """noise (n, 1) -> scale * noise + shift (n, 1): one Dense unit with fixed weights."""
    noise = keras.Input((1,), name="noise")
    out = keras.layers.Dense(1, name="value")(noise)
    model = keras.Model(noise, out, name="generator")
    model.get_layer("value").set_weights([np.array([[scale]], np.float32), np.array([shift], np.float32)])
    return model


def save(folder, generator):
    keras.utils.set_random_seed(0)
    _, discriminator = build_gan_models("gauss1d", latent_dim=1, image_shape=(1,), options=SPEC.model)
    save_models(folder, generator, discriminator, spec=SPEC)
    return folder


def run_stage(tmp_path, gauss_dir, models, capsys) -> tuple[dict, str]:
    """Run the stage; return quality.json and quality_details.json as one mapping, and its stdout."""
    code = evaluate_gauss1d.main(["gauss1d", "--params", str(PARAMS), "--data", str(gauss_dir),
                                  "--models", str(models), "--reports", str(tmp_path / "reports")])
    out, err = capsys.readouterr()
    assert code == 0, err
    quality = json.loads((tmp_path / "reports" / "quality.json").read_text())
    # DVC metrics: the headline only, each number with its standard error
    assert set(quality) == {"gen_mean", "gen_std", "ks_distance", "gen_mean_std", "gen_std_std", "ks_distance_std"}
    return {**quality, **json.loads((tmp_path / "reports" / "quality_details.json").read_text())}, out


def test_uniform_noise_stretched_to_the_targets_mean_and_variance_scores_close(tmp_path, gauss_dir, capsys):
    """U[0,1] noise (the spec's kind) mapped to mean 4, variance 1.25: mean and std on target, KS small
    (a uniform against a normal of the same moments: ~0.06 in the limit). From N(0,1) noise the mean would be ~2.2."""
    width = math.sqrt(12 * 1.25)
    models = save(tmp_path / "models", affine_generator(width, 4.0 - width / 2))
    quality, out = run_stage(tmp_path, gauss_dir, models, capsys)
    assert set(quality) == {"gen_mean", "gen_std", "ks_distance", "gen_mean_std", "gen_std_std", "ks_distance_std",
                            "target"}
    assert quality["target"] == {"mean": 4.0, "variance": 1.25}
    # the standard errors at 1,000 samples: s/sqrt(n) = 0.035, s/sqrt(2n) = 0.025, KS ~ 0.01
    assert quality["gen_mean_std"] == pytest.approx(math.sqrt(1.25 / 1000), rel=0.1)
    assert quality["gen_std_std"] == pytest.approx(math.sqrt(1.25 / 2000), rel=0.1)
    assert 0.003 < quality["ks_distance_std"] < 0.03
    assert all(math.isfinite(quality[k]) for k in ("gen_mean", "gen_std", "ks_distance"))
    assert abs(quality["gen_mean"] - 4.0) < 0.1 and abs(quality["gen_std"] - math.sqrt(1.25)) < 0.1
    assert quality["ks_distance"] < 0.15  # 0.09 here; from N(0,1) or U[-1,1] noise it would be ~0.45-0.5
    assert png_size(tmp_path / "reports" / "histogram.png") == (640, 480)
    assert out.startswith("evaluate_gauss1d gauss1d: mean ") and "KS distance" in out


def test_values_come_from_the_specs_noise_with_the_sections_seed(tmp_path, gauss_dir, capsys):
    """An untrained gauss1d generator: quality.json holds the metrics of exactly the values it draws from
    ``samples`` U[0,1] noise vectors seeded by evaluate_gauss1d.seed, rounded to 4 places."""
    from ganpipe.evaluation.gauss1d import gauss1d_metrics

    keras.utils.set_random_seed(3)
    generator, _ = build_gan_models("gauss1d", latent_dim=1, image_shape=(1,), options=SPEC.model)
    quality, _ = run_stage(tmp_path, gauss_dir, save(tmp_path / "models", generator), capsys)
    cfg = load_section(PARAMS, "evaluate_gauss1d", EvaluateGauss1dConfig)
    values = generator.predict(SPEC.noise_batch(cfg.seed, cfg.samples), verbose=0)
    expected = gauss1d_metrics(values, 4.0, 1.25)
    assert {k: quality[k] for k in expected} == {k: round(v, 4) for k, v in expected.items()}
    assert 0.0 <= quality["ks_distance"] <= 1.0


def test_a_constant_generator_has_no_spread_and_a_large_ks_distance(tmp_path, gauss_dir, capsys):
    """Every value 4.0, the target's mean: the empirical CDF jumps from 0 to 1 where the target's is 0.5."""
    models = save(tmp_path / "models", affine_generator(0.0, 4.0))
    quality, _ = run_stage(tmp_path, gauss_dir, models, capsys)
    assert quality["gen_mean"] == 4.0 and quality["gen_std"] == 0.0
    assert quality["ks_distance"] == pytest.approx(0.5, abs=1e-4)


def test_a_missing_data_folder_names_the_stage_that_makes_it(tmp_path, capsys):
    models = save(tmp_path / "models", affine_generator(1.0, 0.0))
    code = evaluate_gauss1d.main(["gauss1d", "--params", str(PARAMS), "--data", str(tmp_path / "nodata"),
                                  "--models", str(models), "--reports", str(tmp_path / "reports")])
    assert code == 2
    err = capsys.readouterr().err
    assert "nodata" in err and "run the prepare_gauss1d stage first" in err and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_an_image_generator_is_refused(tmp_path, gauss_dir, capsys):
    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models("dense_small", latent_dim=4, image_shape=(28, 28, 1))
    image_spec = GeneratorSpec(run="mnist", arch="dense_small", model={}, latent_dim=4, noise="uniform",
                               output_shape=(28, 28, 1), output_range=(-1.0, 1.0), kind="digits", seed=0, precision="float32", steps=1)
    save_models(tmp_path / "models", generator, discriminator, spec=image_spec)
    code = evaluate_gauss1d.main(["gauss1d", "--params", str(PARAMS), "--data", str(gauss_dir),
                                  "--models", str(tmp_path / "models"), "--reports", str(tmp_path / "reports")])
    assert code == 2
    assert "draws samples of shape (28, 28, 1), the data in" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()
