import numpy as np
import pytest

from ganpipe.errors import ConfigError
from ganpipe.models import ARCHS, CONVOLUTIONAL_ARCHS, DENSE_ARCHS
from ganpipe.models.registry import REGISTRY, _builder, build_gan_models


def count_trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_dense_parameter_counts_match_the_original_program():
    generator, discriminator = build_gan_models("dense", latent_dim=100, image_shape=(28, 28, 1))
    assert generator.count_params() == 1_493_520
    assert count_trainable(generator) == 1_489_936
    assert discriminator.count_params() == 665_089
    assert count_trainable(discriminator) == 665_089


def test_dense_shapes_and_value_ranges():
    generator, discriminator = build_gan_models("dense", latent_dim=12, image_shape=(28, 28, 1))
    noise = np.random.default_rng(0).standard_normal((4, 12)).astype(np.float32)
    images = np.asarray(generator(noise, training=False))
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0
    probs = np.asarray(discriminator(images, training=False))
    assert probs.shape == (4, 1) and np.all((probs > 0) & (probs < 1))


def test_dcgan64_shapes_and_parameter_counts():
    generator, discriminator = build_gan_models("dcgan64", latent_dim=100, image_shape=(64, 64, 3))
    assert generator.output_shape == (None, 64, 64, 3) and discriminator.output_shape == (None, 1)
    assert (generator.count_params(), count_trainable(generator)) == (3_616_771, 3_614_723)
    assert (discriminator.count_params(), count_trainable(discriminator)) == (2_768_321, 2_766_529)
    images = np.asarray(generator(np.zeros((2, 100), np.float32), training=False))
    assert images.min() >= -1 and images.max() <= 1


def test_dcgan32_draws_32x32_colour_images_with_the_64s_options():
    generator, discriminator = build_gan_models("dcgan32", latent_dim=100, image_shape=(32, 32, 3),
                                                options={"width": 16, "upsample": "resize"})
    assert generator.output_shape == (None, 32, 32, 3) and discriminator.output_shape == (None, 1)
    assert [layer.output.shape[1] for layer in discriminator.layers if "conv" in layer.name] == [16, 8, 4]
    images = np.asarray(generator(np.zeros((2, 100), np.float32), training=False))
    assert images.min() >= -1 and images.max() <= 1
    with pytest.raises(ConfigError, match=r"dcgan32 draws 32x32 images, the data is 64x64"):
        build_gan_models("dcgan32", latent_dim=10, image_shape=(64, 64, 3))


def test_model_options_are_checked():
    with pytest.raises(ConfigError, match=r"model.width: unknown option for arch 'dense' \(valid: none\)"):
        build_gan_models("dense", latent_dim=10, image_shape=(28, 28, 1), options={"width": 3})
    with pytest.raises(ConfigError, match=r"'dcgan64' cannot be built: dcgan64 draws 64x64 images, the data is 28x28"):
        build_gan_models("dcgan64", latent_dim=10, image_shape=(28, 28, 1))


def test_unknown_architecture_lists_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown architecture 'dcgan9' \(valid: " + ", ".join(sorted(REGISTRY))):
        build_gan_models("dcgan9", latent_dim=10, image_shape=(28, 28, 1))


@pytest.mark.parametrize("shape", [(3, 5, 7, 4), (2, 1, 1, 3)])
def test_resize_conv_is_upsampling_then_a_3x3_convolution(shape):
    """The fused layer against Keras' own two layers holding its weights, borders and odd sizes included."""
    import keras

    from ganpipe.models.layers import ResizeConv2D

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    fused = ResizeConv2D(6, activation="tanh")
    fused(x)
    fused.set_weights([np.random.default_rng(1).standard_normal(w.shape).astype(np.float32) for w in fused.weights])
    upsample, conv = keras.layers.UpSampling2D(2), keras.layers.Conv2D(6, 3, padding="same", activation="tanh")
    conv(upsample(x))
    conv.set_weights(fused.get_weights())
    want = np.asarray(conv(upsample(x)))
    assert want.shape == (shape[0], 2 * shape[1], 2 * shape[2], 6)
    np.testing.assert_allclose(np.asarray(fused(x)), want, rtol=0, atol=2e-6)


def test_a_saved_resize_generator_loads_in_plain_keras(tmp_path):
    """The files save_models writes hold Keras' own layers: another process loads them without ganpipe
    and draws what the trained generator draws."""
    import subprocess
    import sys

    from ganpipe.models.layers import ResizeConv2D
    from ganpipe.training.export import GeneratorSpec, save_models

    generator, discriminator = build_gan_models("dcgan64", latent_dim=8, image_shape=(64, 64, 3),
                                                options={"width": 2, "upsample": "resize"})
    assert sum(isinstance(layer, ResizeConv2D) for layer in generator.layers) == 4
    spec = GeneratorSpec(run="r", arch="dcgan64", model={"width": 2, "upsample": "resize"}, latent_dim=8,
                         noise="normal", output_shape=(64, 64, 3), output_range=(-1.0, 1.0), kind="pictures",
                         seed=0, precision="float32", steps=3)
    save_models(tmp_path, generator, discriminator, spec=spec)
    noise = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    np.save(tmp_path / "want.npy", np.asarray(generator(noise, training=False)))
    script = ("import sys, numpy as np, keras; d = sys.argv[1]; noise = np.load(d + '/noise.npy')\n"
              "for name in ('generator.keras', 'generator_model_3.h5'):\n"
              "    got = np.asarray(keras.models.load_model(f'{d}/{name}', compile=False)(noise, training=False))\n"
              "    np.testing.assert_allclose(got, np.load(d + '/want.npy'), rtol=0, atol=1e-5)\n"
              "assert 'ganpipe' not in sys.modules\nprint('plain keras: ok')")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "plain keras: ok" in out.stdout, out.stderr[-3000:]


def test_resize_generator_trains_a_step_under_mixed_bfloat16():
    """Under mixed precision the fused layer folds in float32 and convolves in bfloat16; its saved form
    (Keras' own layers, same dtype policies) draws what it draws."""
    import keras

    from ganpipe.models.layers import standard_layers
    from ganpipe.training.precision import dtype_policy

    with dtype_policy("mixed_bfloat16"):
        generator, _ = build_gan_models("dcgan64", latent_dim=8, image_shape=(64, 64, 3),
                                        options={"width": 2, "upsample": "resize"})
    noise = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    optimizer = keras.optimizers.SGD(0.1)
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(generator(noise, training=True)))
    optimizer.apply_gradients(zip(tape.gradient(loss, generator.trainable_variables), generator.trainable_variables))
    assert np.isfinite(float(loss))
    saved = standard_layers(generator)
    policies = {layer.name: layer.dtype_policy.name for layer in saved.layers}
    pairs = {name[: -len("_upsampling")]: policy for name, policy in policies.items() if name.endswith("_upsampling")}
    assert len(pairs) == 4 and all(policies[conv] == policy for conv, policy in pairs.items()), policies
    assert sorted(pairs.values()) == ["float32"] + 3 * ["mixed_bfloat16"]  # the image layer is float32
    np.testing.assert_allclose(np.asarray(saved(noise, training=False)), np.asarray(generator(noise, training=False)),
                               rtol=0, atol=0.05)


def test_every_architecture_name_has_a_builder_and_the_convolutional_ones_are_the_dcgans():
    """params.yaml's names (ganpipe.models.ARCHS, read without the network code) and the registry's agree."""
    assert sorted(REGISTRY) == list(ARCHS) and not CONVOLUTIONAL_ARCHS & DENSE_ARCHS
    for arch in ARCHS:
        assert callable(_builder(arch)), arch
        assert (arch in CONVOLUTIONAL_ARCHS) == REGISTRY[arch].startswith("ganpipe.models.dcgan:"), arch
