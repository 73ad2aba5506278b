"""The picture scorer ranks known cases right (a cheap form of benchmarks/validate_faces.py).

A small scorer is trained on half of the faces animeface cuts from 80 demo scenes; the other half,
corrupted at growing levels, must score further from the first half at every level, and blurs (what a
briefly trained generator draws) must score far from the real floor.
"""

from __future__ import annotations

import numpy as np
import pytest

from ganpipe.config import PreparePicturesConfig
from ganpipe.data import anime_demo
from ganpipe.data.faces import extract_faces
from ganpipe.evaluation import corruptions, metrics
from ganpipe.evaluation.face_features import face_features, feature_width, train_face_features
from ganpipe.evaluation.faces import hair_colour_groups, mixed_halves, to_uint8, without_groups


@pytest.fixture(scope="module")
def halves(tmp_path_factory):
    raw = tmp_path_factory.mktemp("demo") / "raw"
    anime_demo.make_demo(raw, 80, seed=5)
    cfg = PreparePicturesConfig(raw_dir=str(raw), detect=True, threshold=0.95, margin=0.15, image_size=64,
                             min_face_size=32)
    faces, _ = extract_faces(cfg.raw_dir, cfg)
    assert len(faces) >= 60
    order = np.random.default_rng(0).permutation(len(faces))
    half = len(faces) // 2
    return faces[order[:half]], faces[order[half:2 * half]]


@pytest.fixture(scope="module")
def scored(halves):
    """images -> FID of their features against the scorer's own training half."""
    train, _ = halves
    model, _ = train_face_features(train, epochs=4, batch_size=16, feature_dim=16, seed=0)
    reference = face_features(model, train)
    assert reference.shape == (len(train), feature_width(16, len(train)))
    # whitened principal components of the training faces: mean 0 and variance 1 each
    assert np.abs(reference.mean(0)).max() < 1e-3
    np.testing.assert_allclose(reference.var(0, ddof=1), 1.0, rtol=1e-3)
    return lambda images: metrics.frechet_distance(face_features(model, images), reference)


@pytest.mark.parametrize("name,levels", [("noise", (0.0, 0.2, 0.4)), ("blur", (0.0, 1.0, 2.0))])
def test_score_rises_with_the_level_of_a_corruption(halves, scored, name, levels):
    _, held = halves
    function = corruptions.GRADED[name][0]
    as_float = held.astype(np.float32) / 127.5 - 1.0
    fids = [scored(to_uint8(function(as_float, level, seed=1))) for level in levels]
    assert fids[0] < fids[1] < fids[2], fids


def test_blurs_score_far_from_real_faces(halves, scored):
    """Blobs of colour (a 100-step generator's pictures: each face shrunk to 8x8 and blown up again) score
    well above the held-out faces' floor. (Mixed halves need more faces than a test has: the benchmark.)"""
    from PIL import Image

    _, held = halves
    floor = scored(held)
    blobs = np.stack([np.asarray(Image.fromarray(face).resize((8, 8), Image.BILINEAR)
                                 .resize((64, 64), Image.BILINEAR)) for face in held])
    assert scored(blobs) > 3 * floor


def test_mixed_halves_and_hair_colour_groups():
    faces = np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones((6, 4, 4, 3), np.uint8)
    mixed = mixed_halves(faces, seed=0)
    np.testing.assert_array_equal(mixed[:, :2], faces[:, :2])
    assert (mixed[:, 2:] != faces[:, 2:]).all()  # no face meets its own bottom half
    assert sorted(mixed[:, 3, 0, 0]) == list(range(6))
    colours = np.array([[250, 0, 0]] * 5 + [[0, 0, 250]] * 3 + [[0, 250, 0]] * 2, np.uint8)
    pictures = colours[:, None, None, :] * np.ones((10, 16, 16, 1), np.uint8)
    labels = hair_colour_groups(pictures, 3, rows=4, seed=0)
    np.testing.assert_array_equal(labels, [0] * 5 + [1] * 3 + [2] * 2)  # largest group first
    kept = without_groups(pictures, labels, 2, 7, seed=0)
    assert kept.shape == (7, 16, 16, 3) and (kept[:, 0, 0, 1] == 250).all()
