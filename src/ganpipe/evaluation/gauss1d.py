"""How close a 1-D GAN's samples are to its normal target."""

from __future__ import annotations

import math

import numpy as np


def normal_cdf(x: np.ndarray, mean: float, variance: float) -> np.ndarray:
    z = (np.asarray(x, dtype=np.float64) - mean) / math.sqrt(2.0 * variance)
    return 0.5 * (1.0 + np.vectorize(math.erf)(z))


def ks_distance(values, mean: float, variance: float) -> float:
    """Kolmogorov-Smirnov statistic: the largest gap between the samples' empirical CDF and N(mean, variance)'s."""
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
