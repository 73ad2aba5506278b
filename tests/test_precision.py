"""precision: mixed_bfloat16, for real: bf16 steps on the real digits, float32 outputs, saved models that load."""

import dataclasses

import keras
import numpy as np
import pytest

from ganpipe.data.binfmt import read_split
from ganpipe.data.kinds import DIGITS
from ganpipe.training.gan import ArraySampler, build_gan
from ganpipe.training.networks import build_networks
from ganpipe.training.precision import dtype_policy

from .conftest import train_steps

OUTPUT_LAYERS = {"image", "validity"}


def test_mixed_bfloat16_steps_compute_in_bf16_with_float32_variables_and_outputs(mnist_dir, tiny_train_cfg):
    images = read_split(mnist_dir, "Train").images
    cfg = dataclasses.replace(tiny_train_cfg, precision="mixed_bfloat16", xla=False)
    generator, discriminator = build_networks(cfg, images.shape[1:], seed=0)
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored after the build"
    for model in (generator, discriminator):
        for layer in model.layers:
            if layer.weights:  # every layer with weights but the output layer computes in bf16
                expected = "float32" if layer.name in OUTPUT_LAYERS else "bfloat16"
                assert layer.compute_dtype == expected, f"{model.name}/{layer.name}"
        assert model.layers[-1].name in OUTPUT_LAYERS and model.layers[-1].compute_dtype == "float32"
        assert {v.dtype for v in model.weights} == {"float32"}, f"{model.name}: variables stay float32"
    gan = build_gan(cfg, generator, discriminator, ArraySampler(images, DIGITS.to_network))
    before = [np.array(v) for v in generator.trainable_weights]
    out = train_steps(gan, 3)
    assert out.dtype == np.float32 and out.shape == (3, 5) and np.isfinite(out).all()
    assert all(not np.array_equal(np.array(v), b) for v, b in zip(generator.trainable_weights, before))
    drawn = gan.generate(np.random.default_rng(0).standard_normal((40, cfg.latent_dim)).astype(np.float32), batch_size=16)
    assert drawn.dtype == np.float32 and drawn.shape == (40, 28, 28, 1)
    assert -1.0 <= drawn.min() < drawn.max() <= 1.0
    # a float32 build right after is float32 throughout
    g32, _ = build_networks(tiny_train_cfg, images.shape[1:], seed=0)
    assert {layer.compute_dtype for layer in g32.layers} == {"float32"}


def test_dtype_policy_is_restored_even_after_an_error():
    keras.config.set_dtype_policy("float32")
    with pytest.raises(RuntimeError):
        with dtype_policy("mixed_bfloat16"):
            assert keras.config.dtype_policy().name == "mixed_bfloat16"
            raise RuntimeError("a builder failed")
    assert keras.config.dtype_policy().name == "float32"
    with pytest.raises(ValueError, match="unknown precision 'float16'"):
        with dtype_policy("float16"):
            pass


def test_mixed_bfloat16_run_saves_a_generator_that_loads_and_draws_float32(tmp_path, mnist_dir, tiny_train_cfg):
    from ganpipe.cli import generate
    from ganpipe.training.run import RunPaths, train_run
    from ganpipe.training.export import load_generator

    cfg = dataclasses.replace(tiny_train_cfg, precision="mixed_bfloat16", epochs=3, xla=False)
    result = train_run(cfg, RunPaths(data=mnist_dir, models=tmp_path / "m", reports=tmp_path / "r"), progress=False)
    assert all(np.isfinite(v) for v in result.final.values())
    loaded = load_generator(tmp_path / "m")
    assert loaded.get_layer("image").compute_dtype == "float32"
    assert loaded.layers[1].compute_dtype == "bfloat16", "the saved layers keep their policy"
    images, _ = generate(tmp_path / "m", n=12, seed=1, grid=None, out_png=tmp_path / "g.png")
    assert images.dtype == np.float32 and images.shape == (12, 28, 28, 1)
    assert -1.0 <= images.min() < images.max() <= 1.0
    raw = keras.ops.convert_to_numpy(loaded(np.zeros((2, cfg.latent_dim), np.float32), training=False))
    assert raw.dtype == np.float32, "the model itself returns float32, not only generate()"
    legacy = keras.models.load_model(tmp_path / "m" / "generator_model_3.h5", compile=False)
    for a, b in zip(legacy.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert keras.config.dtype_policy().name == "float32"
