"""Quality of a digit GAN, judged by the frozen classifier, with real and untrained baselines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .judge import judge_outputs, scale

# the numbers `dvc exp show` tabulates (quality.json), each distance with its noise (FID ± bootstrap
# std, KID ± std over subsets); the rest goes to quality_details.json
HEADLINE = ("domain_fid", "domain_fid_std", "domain_kid", "domain_kid_std", "domain_precision",
            "domain_precision_std", "domain_recall", "domain_recall_std", "inception_score", "inception_score_std",
            "modes", "largest_class", "largest_class_std", "memorised_share", "memorised_share_std")


def inception_score_spread(probs: np.ndarray, splits: int = 10) -> float:
    """The std of the Inception Score over ``splits`` equal parts of the images (its usual noise bar)."""
    parts = [part for part in np.array_split(np.asarray(probs), splits) if len(part) > 1]
    return round(float(np.std([metrics.inception_score(part) for part in parts], ddof=1)), 4) if len(parts) > 1 else float("nan")


def judged(features_ref, probs, features, *, confidence: float, min_share: float) -> dict:
    """The judge's verdict on one image set against reference features (the real test images)."""
    hist = metrics.class_histogram(probs, confidence=confidence)
    largest = float(hist.max() / hist.sum()) if hist.sum() else 1.0
    return {
        **metrics.feature_scores(features, features_ref, prefix="domain_"),
        "inception_score": round(metrics.inception_score(probs), 4),
        "inception_score_std": inception_score_spread(probs),
        "largest_class": round(largest, 4),
        "largest_class_std": metrics.share_std(largest, int(hist.sum())),
        "modes": metrics.mode_coverage(probs, confidence=confidence, min_share=min_share),
        "confident_share": round(metrics.confident_share(probs, confidence=confidence), 4),
        "class_histogram": {str(k): int(v) for k, v in enumerate(hist)},
    }


@dataclass
class ClosestPairs:
    """The generated images most like a copy, relative to their class (for memorisation.png)."""

    generated: np.ndarray  # indices into the generated images
    train: np.ndarray  # index of each one's nearest training image
    distance: np.ndarray  # pixel L2 distance between the two (images scaled to [-1, 1])
    judged: np.ndarray  # the class the judge gives the generated image
    threshold: np.ndarray  # that class's copy threshold (the 10% quantile of real unseen digits' distances)


def copying(images: np.ndarray, probs: np.ndarray, train_pixels: np.ndarray, test_dist: np.ndarray,
            test_labels: np.ndarray):
    """(copying_test's verdict, distances, nearest indices, judged classes) for ``images``, whose
    judge probabilities are ``probs``."""
    dist, nearest = metrics.nearest_distances(images, train_pixels)
    judged_class = probs.argmax(1)
    return metrics.copying_test(dist, judged_class, test_dist, test_labels), dist, nearest, judged_class


def evaluate_digits(judge, generated: np.ndarray, untrained: np.ndarray, train: np.ndarray, test: np.ndarray,
                    test_labels: np.ndarray, *, confidence: float, min_share: float, pairs: int = 8
                    ) -> tuple[dict, ClosestPairs]:
    """Metrics of ``generated`` images (float in [-1, 1]) with the real test set as floor and an
    untrained generator's ``untrained`` images as ceiling.

    The reference is the real test digits: neither the judge nor any GAN trained on them, so a
    generator that reproduces its training digits gains nothing over one that draws new ones. The
    real floor compares as many training digits as were generated (at most all of them) with the
    test set, at the same counts as the generated set; its memorised share is the test images' own
    (0.1 by construction). ``memorised_share`` is class by
    class (:func:`metrics.copying_test`); the class-blind share of earlier versions, which collapse
    onto thin digits inflates, is kept in the details. Returns the metrics and the ``pairs``
    generated images closest to a training image relative to their class's threshold.
    """
    f_test, _ = judge_outputs(judge, test)
    f_gen, p_gen = judge_outputs(judge, generated)
    real = train[np.random.default_rng(0).permutation(len(train))[: min(len(generated), len(train))]]
    f_real, p_real = judge_outputs(judge, real)
    f_untrained, p_untrained = judge_outputs(judge, untrained)
    train_pixels, test_pixels = scale(train), scale(test)
    test_dist, _ = metrics.nearest_distances(test_pixels, train_pixels)
    verdict, dist, nearest, judged_class = copying(generated, p_gen, train_pixels, test_dist, test_labels)
    result = judged(f_test, p_gen, f_gen, confidence=confidence, min_share=min_share)
    result["memorised_share"] = round(verdict["share"], 4)
    result["memorised_share_std"] = metrics.share_std(verdict["share"], len(generated))
    result["copying_z"] = round(verdict["z"], 3) if np.isfinite(verdict["z"]) else None  # None: no class big enough
    result["copy_thresholds"] = {str(k): round(v, 3) for k, v in verdict["thresholds"].items()}
    result["memorised_share_class_blind"] = round(
        metrics.memorisation_share(generated, train_pixels, test_pixels, generated_nearest=dist,
                                   reference_nearest=test_dist)[0], 4)
    result["real"] = judged(f_test, p_real, f_real, confidence=confidence, min_share=min_share)
    result["real"]["memorised_share"] = round(
        metrics.copying_test(test_dist, test_labels, test_dist, test_labels)["share"], 4)
    result["real"]["memorised_share_std"] = metrics.share_std(result["real"]["memorised_share"], len(test))
    result["untrained"] = judged(f_test, p_untrained, f_untrained, confidence=confidence, min_share=min_share)
    result["untrained"]["memorised_share"] = round(
        copying(untrained, p_untrained, train_pixels, test_dist, test_labels)[0]["share"], 4)
    result["untrained"]["memorised_share_std"] = metrics.share_std(result["untrained"]["memorised_share"], len(untrained))
    limit = np.array([verdict["thresholds"][int(c)] for c in judged_class])
    closest = np.argsort(dist / limit, kind="stable")[:pairs]
    return result, ClosestPairs(closest, nearest[closest], dist[closest], judged_class[closest], limit[closest])
