"""Quality of a digit GAN, judged by the frozen classifier, with real and untrained baselines."""

from __future__ import annotations

import numpy as np

from . import metrics
from .judge import judge_outputs, scale

# the numbers `dvc exp show` tabulates (quality.json); the rest goes to quality_details.json
HEADLINE = ("domain_fid", "inception_score", "modes", "memorised_share")


def judged(features_ref, probs, features, *, confidence: float, min_share: float) -> dict:
    """The judge's verdict on one image set against reference features (the real test images)."""
    hist = metrics.class_histogram(probs, confidence=confidence)
    return {
        "domain_fid": round(metrics.frechet_distance(features, features_ref), 4),
        "inception_score": round(metrics.inception_score(probs), 4),
        "modes": metrics.mode_coverage(probs, confidence=confidence, min_share=min_share),
        "confident_share": round(metrics.confident_share(probs, confidence=confidence), 4),
        "class_histogram": {str(k): int(v) for k, v in enumerate(hist)},
    }


def evaluate_digits(judge, generated: np.ndarray, untrained: np.ndarray, train: np.ndarray, test: np.ndarray,
                    *, confidence: float, min_share: float) -> tuple[dict, np.ndarray]:
    """Metrics of ``generated`` images (float in [-1, 1]) with the real test set as floor and an
    untrained generator's ``untrained`` images as ceiling.

    The real floor compares as many training images as were generated with the test set. Returns
    the metrics and the indices (into ``generated``) and nearest training images of the 8 closest pairs.
    """
    f_test, _ = judge_outputs(judge, test)
    f_gen, p_gen = judge_outputs(judge, generated)
    real = train[np.random.default_rng(0).permutation(len(train))[: min(len(generated), len(train))]]
    f_real, p_real = judge_outputs(judge, real)
    f_untrained, p_untrained = judge_outputs(judge, untrained)
    train_pixels = scale(train)
    dist, nearest = metrics.nearest_distances(generated, train_pixels)
    share, threshold = metrics.memorisation_share(generated, train_pixels, scale(test), generated_nearest=dist)
    result = judged(f_test, p_gen, f_gen, confidence=confidence, min_share=min_share)
    result["memorised_share"] = round(share, 4)
    result["memorisation_threshold"] = round(threshold, 4)
    result["real"] = judged(f_test, p_real, f_real, confidence=confidence, min_share=min_share)
    result["untrained"] = judged(f_test, p_untrained, f_untrained, confidence=confidence, min_share=min_share)
    closest = np.argsort(dist)[:8]
    return result, np.stack([closest, nearest[closest]], axis=1)
