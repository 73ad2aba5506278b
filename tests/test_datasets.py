"""ganpipe.datasets: fit's pipelines, without tf.data's autotuning."""

import numpy as np
import pytest

from ganpipe.datasets import shuffled_batches, untuned


def epochs_of(dataset, count):
    """The rows of ``count`` passes over ``dataset``, each pass as a list of batches of numpy arrays."""
    return [[tuple(np.asarray(part) for part in batch) for batch in dataset] for _ in range(count)]


def test_every_epoch_is_a_new_seeded_order_of_all_rows_kept_aligned():
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    y = np.arange(10, dtype=np.int64) * 7
    passes = epochs_of(shuffled_batches((x, y), batch_size=4, seed=5), 3)
    orders = []
    for batches in passes:
        assert [len(b[1]) for b in batches] == [4, 4, 2]  # the last batch partial
        xs, ys = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
        np.testing.assert_array_equal(xs, x[ys // 7])  # rows stay together
        assert sorted(ys.tolist()) == y.tolist()  # every row once
        orders.append(ys.tolist())
    assert orders[0] != orders[1] != orders[2] and orders[0] != list(y)  # shuffled, anew each epoch
    again = epochs_of(shuffled_batches((x, y), batch_size=4, seed=5), 3)
    assert [np.concatenate([b[1] for b in p]).tolist() for p in again] == orders  # the same seed, the same orders
    other = epochs_of(shuffled_batches((x, y), batch_size=4, seed=6), 1)
    assert np.concatenate([b[1] for b in other[0]]).tolist() != orders[0]


def test_the_pipelines_fit_reads_have_autotuning_off(mnist_dir):
    """The judge's and picture scorer's batches and the GAN's step indices: no autotuning thread,
    whose sleep a deleted iterator would wait out (ganpipe.datasets)."""
    import tensorflow as tf

    from ganpipe.data.binfmt import read_split

    from .test_training import make_gan

    assert untuned(tf.data.Dataset.range(3)).options().autotune.enabled is False
    assert tf.data.Dataset.range(3).options().autotune.enabled is not False  # TensorFlow's default: on
    batches = shuffled_batches((np.zeros((5, 2), np.float32),), batch_size=2, seed=0)
    assert batches.options().autotune.enabled is False
    gan = make_gan(read_split(mnist_dir, "Train").images)
    assert gan.steps(4).options().autotune.enabled is False


def test_unequal_empty_arrays_and_bad_batch_sizes_are_refused():
    with pytest.raises(ValueError, match=r"equal length, got lengths \[3, 2\]"):
        shuffled_batches((np.zeros(3), np.zeros(2)), batch_size=2, seed=0)
    with pytest.raises(ValueError, match=r"non-empty"):
        shuffled_batches((np.zeros(0),), batch_size=2, seed=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        shuffled_batches((np.zeros(3),), batch_size=0, seed=0)


def test_an_array_given_twice_comes_out_twice_in_the_order_of_a_pair():
    """An autoencoder's (x, x): the same rows on both sides, in the order (x, y) of the same seed gives."""
    x = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
    y = np.arange(10, dtype=np.int64)
    twice = epochs_of(shuffled_batches((x, x), batch_size=4, seed=5), 2)
    pair = epochs_of(shuffled_batches((x, y), batch_size=4, seed=5), 2)
    for got, want in zip(twice, pair):
        for (a, b), (xs, ys) in zip(got, want):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, x[ys])
