"""DiffAugment: what each policy does to images, gradients through it, and where it is (not) applied."""

import numpy as np
import pytest
import tensorflow as tf

from ganpipe.data.binfmt import read_split
from ganpipe.training.augment import augment, draw_params
from ganpipe.training.callbacks import QualitySnapshots
from ganpipe.training.gan import generate

from .conftest import train_steps
from .test_training import make_gan, snapshot


def test_translation_shifts_by_whole_pixels_with_grey_padding():
    images = tf.reshape(tf.range(2 * 8 * 8, dtype=tf.float32), [2, 8, 8, 1]) / 128.0 - 0.5
    shifted = augment(images, {"shift": tf.constant([[0.125, 0.0], [0.0, -0.25]])}).numpy()
    x = images.numpy()
    np.testing.assert_array_equal(shifted[0, 1:], x[0, :-1])  # down by 1 of 8 rows
    np.testing.assert_array_equal(shifted[0, 0], 0.0)
    np.testing.assert_array_equal(shifted[1, :, :-2], x[1, :, 2:])  # left by 2 of 8 columns
    np.testing.assert_array_equal(shifted[1, :, -2:], 0.0)


def test_cutout_greys_a_square_of_half_the_side():
    images = tf.ones([3, 8, 8, 3])
    out = augment(images, {"cutout": tf.constant([[0.0, 0.0], [0.5, 0.5], [0.99, 0.2]])}).numpy()
    for i in range(3):
        hole = out[i, :, :, 0] == 0
        assert 0 < hole.sum() <= 16 and (out[i][hole] == 0).all() and (out[i][~hole] == 1).all()
    assert out[1, :, :, 0].sum() == 64 - 16, "in the middle the whole 4x4 square fits"


def test_color_keeps_grey_images_grey_and_moves_brightness():
    grey = tf.zeros([4, 8, 8, 3])
    params = draw_params(("color",), tf.constant([0, 1], tf.int64), 4)
    out = augment(grey, params).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(2 * params["brightness"].numpy(), out.shape), atol=1e-6)


def test_draws_are_keyed_and_sliceable():
    a = draw_params(("color", "translation", "cutout"), tf.constant([3, 9], tf.int64), 16)
    b = draw_params(("color", "translation", "cutout"), tf.constant([3, 9], tf.int64), 16)
    assert sorted(a) == ["brightness", "contrast", "cutout", "saturation", "shift"]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
        assert a[name].shape[0] == 16
    assert np.abs(a["shift"].numpy()).max() <= 0.125


def test_gradients_flow_through_the_augmentation_to_every_generator_weight(mnist_dir):
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, augment=("color", "translation", "cutout"))
    noise = tf.random.normal([16, 100], seed=1)
    params = draw_params(gan.augment_policy, tf.constant([0, 5], tf.int64), 16)
    with tf.GradientTape() as tape:
        score = tf.reduce_mean(gan.discriminator(augment(gan.generator(noise, training=True), params), training=True))
    grads = tape.gradient(score, gan.generator.trainable_variables)
    assert all(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)


def test_augmented_training_changes_training_but_never_the_samples(mnist_dir):
    images = read_split(mnist_dir, "Train").images
    plain, augmented = make_gan(images), make_gan(images, augment=("translation", "cutout"))
    rows_plain, rows_aug = train_steps(plain, 3), train_steps(augmented, 3)
    assert not np.allclose(rows_plain, rows_aug), "the augmentation is in effect"
    assert all(not np.array_equal(a, b) for a, b in zip(snapshot(augmented.generator), snapshot(plain.generator))
               if a.ndim > 1)
    # scored and pictured samples are the generator's plain output on the noise
    noise = np.random.default_rng(0).standard_normal((8, 100)).astype(np.float32)
    seen = []
    scorer = type("S", (), {"name": "s", "scored": lambda self, x: seen.append(x) or (1.0, 0.1)})()
    snapshots = QualitySnapshots(1, 4, scorer=scorer, noise=noise)
    augmented.fit(augmented.steps(4), epochs=1, verbose=0, shuffle=False, callbacks=[snapshots])
    np.testing.assert_array_equal(seen[-1], generate(augmented.generator, noise))
    assert np.abs(seen[-1]).max() <= 1.0


def test_unknown_policy_is_refused(mnist_dir):
    images = read_split(mnist_dir, "Train").images
    with pytest.raises(ValueError, match="unknown augment policy 'flip'"):
        make_gan(images, augment=("flip",))
