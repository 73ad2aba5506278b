"""Quality of a GAN on pictures: distance to the real pictures in the picture scorer's feature space (FID and
KID, each with its noise; precision and recall), and, for anime faces (a set prepared with ``detect: true``),
how many generated faces animeface still recognises; real pictures give the floor, an untrained generator
the ceiling."""

from __future__ import annotations

import numpy as np

from . import metrics
from .face_features import face_features

# the numbers `dvc exp show` tabulates (quality.json); the rest goes to quality_details.json
HEADLINE = ("face_fid", "face_fid_std", "face_kid", "face_kid_std", "face_precision", "face_precision_std",
            "face_recall", "face_recall_std", "detected_share", "detected_share_std")
DETECTION = ("detected_share", "detected_share_std")  # anime faces only: meaningless for other pictures


def headline(detected: bool) -> tuple[str, ...]:
    """The headline of a run on pictures that are anime faces found by animeface (``detected``), or on any others."""
    return HEADLINE if detected else tuple(k for k in HEADLINE if k not in DETECTION)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] (or uint8 images) -> uint8 images."""
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def detected_shares(image_sets, *, threshold: float) -> list[float]:
    """Share of the face images of each set (uint8 or [-1, 1] floats, (n, S, S, 3)) in which animeface finds
    a face (:func:`ganpipe.data.faces.crop_holds_face`); NaN for an empty set. One map over all the sets'
    faces, on the CPU's cores (~30 ms a face): the worker processes start once."""
    from ..data.faces import crop_holds_face
    from ..parallel import ordered_map

    sets = [to_uint8(images) for images in image_sets]
    found = list(ordered_map(crop_holds_face, [(face, threshold) for images in sets for face in images],
                             desc="animeface", unit="face"))
    shares, start = [], 0
    for images in sets:
        shares.append(sum(found[start:start + len(images)]) / len(images) if len(images) else float("nan"))
        start += len(images)
    return shares


def detected_share(images: np.ndarray, *, threshold: float) -> float:
    """:func:`detected_shares` of one set."""
    return detected_shares([images], threshold=threshold)[0]


def split_real(faces: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random sets of ``count`` real faces: the reference, and the real-vs-real floor."""
    if 2 * count > len(faces):
        raise ValueError(f"{2 * count} real faces needed (two sets of {count}), only {len(faces)} there")
    order = np.random.default_rng(seed).permutation(len(faces))
    return faces[order[:count]], faces[order[count:2 * count]]


def evaluate_faces(extractor, generated: np.ndarray, untrained: np.ndarray, faces: np.ndarray, *,
                   detect_samples: int, threshold: float, seed: int = 0) -> dict:
    """Metrics of ``generated`` faces against real ``faces`` (uint8), with real and untrained baselines.

    The reference is a random half-sized set of real faces; the floor compares a disjoint set of real
    faces of the same size with it; generated and untrained sets are cut to that size too, so every
    distance comes from equally large samples. Per set: ``face_fid`` ± ``face_fid_std`` (bootstrap),
    ``face_kid`` ± ``face_kid_std`` (over random subsets of half the set), ``precision`` and ``recall``
    (k = 3; the floor's ``recall`` is the real faces' own split-half recall: the diversity to reach),
    ``detected_share`` (on the first ``detect_samples``; none with ``detect_samples`` 0, for pictures that
    are not anime faces). ``seed`` draws the bootstrap and the subsets.
    """
    count = min(len(generated), len(untrained), len(faces) // 2)
    reference, other = split_real(faces, count)
    f_ref = face_features(extractor, reference)

    def scored(images):
        # KID subsets of at most half the set (metrics.kid), so their spread is the sampling noise
        return metrics.feature_scores(face_features(extractor, images[:count]), f_ref, prefix="face_", seed=seed)

    result = scored(generated)
    result["compared"] = int(count)
    result["real"] = scored(other)
    result["untrained"] = scored(untrained)
    if detect_samples:
        shown = [generated[:detect_samples], other[:detect_samples], untrained[:detect_samples]]
        shares = detected_shares(shown, threshold=threshold)
        for scores, images, share in zip((result, result["real"], result["untrained"]), shown, shares):
            scores["detected_share"] = round(share, 4)
            # its binomial standard error, over the images animeface was shown
            scores["detected_share_std"] = metrics.share_std(scores["detected_share"], len(images))
    return result


# --- known cases for validating a picture scorer (benchmarks/validate_faces.py, tests) ---------------------

def mixed_halves(faces: np.ndarray, seed: int = 0) -> np.ndarray:
    """Chimeras: the top half of each face over the bottom half of another (a random derangement, seeded).
    Same shape and dtype as ``faces`` (n, S, S, C)."""
    n = len(faces)
    rng = np.random.default_rng(seed)
    shift = rng.integers(1, n) if n > 1 else 0  # a rotation of a permutation: no face meets itself
    order = rng.permutation(n)
    partner = np.empty(n, int)
    partner[order] = order[(np.arange(n) + shift) % n]
    out = faces.copy()
    half = faces.shape[1] // 2
    out[:, half:] = faces[partner, half:]
    return out


def hair_colour_groups(faces: np.ndarray, groups: int, *, rows: int = 12, seed: int = 0) -> np.ndarray:
    """Group labels (n,) int in [0, groups), largest group first: k-means (seeded) on the mean colour of
    each face's top ``rows`` rows, where the hair is in an anime-face crop."""
    from scipy.cluster.vq import kmeans2

    top = faces[:, :rows].reshape(len(faces), -1, faces.shape[-1]).astype(np.float64).mean(1)
    _, labels = kmeans2(top, groups, seed=np.random.default_rng(seed), minit="++")
    by_size = np.argsort(-np.bincount(labels, minlength=groups), kind="stable")
    return np.argsort(by_size)[labels]


def without_groups(faces: np.ndarray, labels: np.ndarray, dropped: int, count: int, seed: int = 0) -> np.ndarray:
    """``count`` faces drawn with replacement (seeded) from those whose label is ``dropped`` or more: the
    set missing the ``dropped`` largest groups (``dropped`` = 0: all groups, the baseline)."""
    pool = np.flatnonzero(labels >= dropped)
    if not len(pool):
        raise ValueError(f"no face left after dropping {dropped} groups")
    return faces[np.random.default_rng(seed).choice(pool, count, replace=True)]
