"""Progress bars of the long loops outside training (face detection, scorer fits, evaluation searches).

tqdm on stderr, shown once a loop has run for a second and redrawn at most once a second: stdout
keeps only each stage's summary line, a quick loop (an empty folder, a tiny test) prints nothing,
and a bar costs nothing measurable. ``TQDM_DISABLE=1`` hides them all (tqdm reads ``TQDM_*``
variables as the defaults of the options not given here). Training's own bar is
``training.callbacks.Progress``.
"""

from __future__ import annotations

import sys

SETTINGS = dict(delay=1.0, mininterval=1.0, dynamic_ncols=True)  # and file=sys.stderr, read at each call


def progress(iterable=None, *, desc: str, unit: str, total: int | None = None):
    """A tqdm bar over ``iterable`` (or updated by hand up to ``total``), labelled ``desc``."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, unit=unit, total=total, file=sys.stderr, **SETTINGS)


def fit_progress(desc: str, epochs: int):
    """A Keras callback for ``fit(..., verbose=0)``: one bar over the epochs, with each epoch's losses.

    tqdm's own ``TqdmCallback`` at epoch level: it has no batch hooks, so Keras keeps dispatching
    the steps asynchronously.
    """
    from tqdm.keras import TqdmCallback

    return TqdmCallback(epochs=epochs, verbose=0, desc=desc, file=sys.stderr, **SETTINGS)
