"""Quality of an anime-face GAN: distance to the real faces in the face feature space, and how many
generated faces animeface still recognises; real faces give the floor, an untrained generator the ceiling."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from ..progress import progress
from . import metrics
from .face_features import face_features

# the numbers `dvc exp show` tabulates (quality.json); the rest goes to quality_details.json
HEADLINE = ("face_fid", "detected_share")

# animeface misses faces that fill the whole picture: measured on 100 real 64x64 crops, it found 71
# as they are and all 100 when each crop is doubled in size and given a 32-pixel white border
DETECT_UPSCALE = 2
DETECT_BORDER = 32


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator output in [-1, 1] (or uint8 images) -> uint8 images."""
    if images.dtype == np.uint8:
        return images
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def detected_share(images: np.ndarray, *, threshold: float) -> float:
    """Share of face images (uint8 or [-1, 1] floats, (n, S, S, 3)) in which animeface finds a face."""
    import animeface

    found = 0
    for face in progress(to_uint8(images), desc="animeface", unit="face"):
        side = face.shape[0] * DETECT_UPSCALE
        picture = Image.fromarray(face).resize((side, side), Image.LANCZOS)
        picture = ImageOps.expand(picture, DETECT_BORDER, fill=(255, 255, 255))
        found += any(hit.likelihood >= threshold for hit in animeface.detect(picture))
    return found / len(images) if len(images) else float("nan")


def split_real(faces: np.ndarray, count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two disjoint random sets of ``count`` real faces: the reference, and the real-vs-real floor."""
    if 2 * count > len(faces):
        raise ValueError(f"{2 * count} real faces needed (two sets of {count}), only {len(faces)} there")
    order = np.random.default_rng(seed).permutation(len(faces))
    return faces[order[:count]], faces[order[count:2 * count]]


def evaluate_faces(extractor, generated: np.ndarray, untrained: np.ndarray, faces: np.ndarray, *,
                   detect_samples: int, threshold: float) -> dict:
    """Metrics of ``generated`` faces against real ``faces`` (uint8), with real and untrained baselines.

    The reference is a random half-sized set of real faces; the floor compares a disjoint set of real
    faces of the same size with it; generated and untrained sets are cut to that size too, so all
    three distances come from equally large samples. Detection runs on the first ``detect_samples`` of each.
    """
    count = min(len(generated), len(untrained), len(faces) // 2)
    reference, other = split_real(faces, count)
    f_ref = face_features(extractor, reference)

    def scored(images):
        return {"face_fid": round(metrics.frechet_distance(face_features(extractor, images[:count]), f_ref), 4),
                "detected_share": round(detected_share(images[:detect_samples], threshold=threshold), 4)}

    result = scored(generated)
    result["compared"] = int(count)
    result["real"] = scored(other)
    result["untrained"] = scored(untrained)
    return result
