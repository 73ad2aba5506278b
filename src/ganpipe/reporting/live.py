"""A DVCLive session that concurrent runs in one project cannot break.

DVCLive tells the VS Code extension about finished steps through one file per project,
``.dvc/tmp/exps/run/DVCLIVE_STEP_COMPLETED``, and removes it when a session ends by checking
that it exists and then deleting it. Two runs at once (``dvc queue start -j 2``, the workers of
a ``multi_worker`` run, two shells) share that file: the second to end found it gone and raised
``FileNotFoundError`` after training, before the models were saved. Here a session's end
forgives exactly that file being gone, and nothing else.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

SIGNAL_FILE = "DVCLIVE_STEP_COMPLETED"


@contextlib.contextmanager
def live_session(reports_dir):
    """``dvclive.Live`` logging into ``reports_dir`` (no dvc.yaml, no report, no experiment save)."""
    from dvclive import Live

    live = Live(dir=str(reports_dir), dvcyaml=None, save_dvc_exp=False, report=None)
    try:
        yield live
    finally:
        try:
            live.end()
        except FileNotFoundError as exc:
            if Path(exc.filename or "").name != SIGNAL_FILE:
                raise
