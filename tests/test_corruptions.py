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


def one_image_at_a_time(x, rng, kind):
    """The distortions' definition, each image drawn and warped on its own (what the batched code must equal)."""
    from scipy import ndimage

    h, w = x.shape[1:3]
    out = np.empty_like(x)
    for i, image in enumerate(x):
        if kind == "affine":
            angle = np.deg2rad(rng.uniform(-12, 12))
            zoom = rng.uniform(0.9, 1.1)
            move = rng.uniform(-2, 2, 2)
            inverse = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) / zoom
            grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij")).reshape(2, -1).astype(float)
            centre = np.array([(h - 1) / 2, (w - 1) / 2])[:, None]
            rows, cols = (inverse @ (grid - centre - move[:, None]) + centre).reshape(2, h, w)
        else:
            rows, cols = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij")
            rows = rows + ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), 3.0, mode="constant") * 6.0
            cols = cols + ndimage.gaussian_filter(rng.uniform(-1, 1, (h, w)), 3.0, mode="constant") * 6.0
        out[i, ..., 0] = ndimage.map_coordinates(image[..., 0], [rows, cols], order=1, mode="constant", cval=-1.0)
    return out


@pytest.mark.parametrize("kind", ["affine", "elastic"])
def test_batched_distortions_equal_drawing_each_image_on_its_own(kind, monkeypatch):
    """The judge's training passes are drawn for many digits at once: the bytes must be those of the per-image
    definition, from the same stream, so the judge stays the same judge (and as reproducible); batches of
    16 here, so that 40 digits cross two batch boundaries."""
    monkeypatch.setattr(corruptions, "CHUNK", 16)
    x = np.random.default_rng(5).uniform(-1, 1, (40, 28, 28, 1)).astype(np.float32)
    if kind == "affine":
        batched = corruptions.affine(x, np.random.default_rng(9), degrees=12, scale=0.1, shift=2)
    else:
        batched = corruptions.elastic(x, np.random.default_rng(9), alpha=6.0, sigma=3.0)
    assert batched.tobytes() == one_image_at_a_time(x, np.random.default_rng(9), kind).tobytes()
