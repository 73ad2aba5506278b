"""The seeded distortions behind the judge's augmentation and the scorers' validation."""

import numpy as np
import pytest

from ganpipe.evaluation import corruptions


@pytest.fixture
def digits():
    """Four made-up 28x28 'digits': a bright bar on the -1 background."""
    x = np.full((4, 28, 28, 1), -1.0, np.float32)
    x[:, 6:22, 12:16] = 1.0
    return x


@pytest.mark.parametrize("name", sorted(corruptions.GRADED))
def test_graded_corruptions_keep_shape_and_range_are_seeded_and_grow_with_the_level(digits, name):
    fn, levels = corruptions.GRADED[name]
    assert levels[0] == 0
    np.testing.assert_array_equal(fn(digits, 0.0, seed=1), digits)
    changes = []
    for level in levels[1:]:
        out = fn(digits, level, seed=1)
        assert out.shape == digits.shape and out.dtype == np.float32
        assert out.min() >= -1 and out.max() <= 1
        np.testing.assert_array_equal(out, fn(digits, level, seed=1))
        changes.append(float(np.abs(out - digits).mean()))
    assert changes[0] > 0 and all(a < b for a, b in zip(changes, changes[1:])), changes


def test_augmentation_is_reproducible_and_keeps_the_digit(digits):
    a, b = corruptions.augment_digits(digits, seed=5), corruptions.augment_digits(digits, seed=5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, corruptions.augment_digits(digits, seed=6))
    # a small jitter: most of the bar's ink is still there
    ink = (digits > 0).sum()
    assert 0.6 * ink < (a > 0).sum() < 1.4 * ink


def test_non_image_input_is_refused():
    with pytest.raises(ValueError, match="expected images"):
        corruptions.noise(np.zeros((28, 28)), 0.1)
