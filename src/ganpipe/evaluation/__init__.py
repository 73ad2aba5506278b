"""Quality metrics as pure functions of arrays."""

from __future__ import annotations

# what an evaluate stage writes in reports/<run>/: the headline numbers (a DVC metrics file, so one
# `dvc exp show` column each), and everything else it measured (real-data floors, untrained-generator
# ceilings, class histograms, the target), which the report reads but DVC does not tabulate
QUALITY_FILE = "quality.json"
DETAILS_FILE = "quality_details.json"
# a difference between two noisy scores counts only beyond this many standard deviations of it
NOISE_MARGIN = 2.0


def noise_margin(std_a: float, std_b: float) -> float:
    """How far two scores with standard deviations ``std_a`` and ``std_b`` must differ to differ at all:
    NOISE_MARGIN x sqrt(std_a^2 + std_b^2) (the snapshot export and the report's changes)."""
    import math

    return NOISE_MARGIN * math.hypot(std_a, std_b)


def split_quality(result: dict, headline) -> tuple[dict, dict]:
    """An evaluation's ``result`` -> (its ``headline`` keys, in that order; all other keys).

    ``{**quality, **details}`` gives ``result`` back. A headline key missing from ``result`` is a
    programming error (KeyError), not a value to leave out quietly.
    """
    quality = {key: result[key] for key in headline}
    details = {key: value for key, value in result.items() if key not in quality}
    return quality, details


def write_quality(reports_dir, result: dict, headline) -> tuple[dict, dict]:
    """Write ``result`` as reports_dir/quality.json (the ``headline`` keys) and quality_details.json
    (the rest), each atomically; details first, so a new quality.json never sits beside old details.
    Returns (quality, details)."""
    from pathlib import Path

    from ..fileio import write_json_atomic

    quality, details = split_quality(result, headline)
    write_json_atomic(Path(reports_dir) / DETAILS_FILE, details)
    write_json_atomic(Path(reports_dir) / QUALITY_FILE, quality)
    return quality, details
