"""Noise bars of the evaluations' shares and scores that have no bootstrap of their own."""

from __future__ import annotations

import numpy as np


def share_std(share: float, count: int) -> float:
    """The binomial standard error of a share measured over ``count`` images: sqrt(p (1 - p) / n)."""
    return round(float(np.sqrt(share * (1 - share) / count)), 4) if count else float("nan")
