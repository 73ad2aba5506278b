"""How close a 1-D GAN's samples are to its normal target."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

# the numbers `dvc exp show` tabulates (quality.json); the target goes to quality_details.json
HEADLINE = ("gen_mean", "gen_std", "ks_distance")


def normal_cdf(x: np.ndarray, mean: float, variance: float) -> np.ndarray:
    """CDF of N(mean, variance) at ``x``, float64 (SciPy's ndtr: within 2.2e-16 of 0.5 (1 + erf(z / sqrt 2)))."""
    return ndtr((np.asarray(x, dtype=np.float64) - mean) / math.sqrt(variance))


def ks_distance(values, mean: float, variance: float) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the samples' empirical CDF and N(mean, variance)'s.

    The same number as ``scipy.stats.kstest(values, "norm", args=(mean, sqrt(variance))).statistic``,
    without its p-value, which makes kstest 50-100x slower (benchmarks/bench_metrics.py).
    """
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("no values")
    cdf = normal_cdf(x, mean, variance)
    n = x.size
    above = np.arange(1, n + 1) / n - cdf
    below = cdf - np.arange(0, n) / n
    return float(max(above.max(), below.max()))


def gauss1d_metrics(values, mean: float, variance: float) -> dict[str, float]:
    """Generated mean, standard deviation and KS distance to the target N(mean, variance)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    return {"gen_mean": float(values.mean()), "gen_std": float(values.std()),
            "ks_distance": ks_distance(values, mean, variance)}


def ks_bootstrap(values, mean: float, variance: float, *, rounds: int, seed: int = 0) -> float:
    """The standard deviation of :func:`ks_distance` over ``rounds`` bootstrap resamples of ``values`` (seeded)."""
    values = np.asarray(values, dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    draws = [ks_distance(values[rng.integers(0, len(values), len(values))], mean, variance) for _ in range(rounds)]
    return float(np.std(draws, ddof=1))
