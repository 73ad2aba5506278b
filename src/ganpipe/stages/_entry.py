"""Shared command-line shell of the stages: common flags, one-line errors and warnings, the stage's time.

:func:`run` filters TensorFlow's native noise out of stderr and shows Python warnings as one line
(ganpipe.console), and under DVC records the stage's wall seconds in reports/timings/ (ganpipe.timings).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from typing import Callable, NoReturn

from ..errors import GanpipeError


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors (or set GANPIPE_DEBUG=1)")
    return p


def run(body: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Call ``body(args)``; turn a GanpipeError into one line on stderr and exit status 2."""
    from ..console import quiet_stage_output
    from ..lean_imports import declined_for_keras
    from ..timings import process_seconds, record_from_environment

    debug = args.debug or os.environ.get("GANPIPE_DEBUG", "") not in ("", "0")
    shown = warnings.showwarning  # put back at the end: tests and notebooks call stages in-process
    # --debug (or TF_CPP_MIN_LOG_LEVEL=0) shows TensorFlow's native lines too: one switch for stages and the CLI
    quiet = quiet_stage_output(show_all=debug or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0")
    status, code = "failed", 1
    try:
        with declined_for_keras():  # a stage imports Keras in its body: without scikit-learn, pandas and pyplot
            body(args)
        status, code = "ok", 0
    except GanpipeError as exc:
        if debug:
            traceback.print_exc()
        print(f"ganpipe: error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a stage turns it into this
        print(f"ganpipe: interrupted ({exc})" if str(exc) else "ganpipe: interrupted", file=sys.stderr)
        status, code = "interrupted", 130
    finally:  # an unexpected exception still records the time; its traceback goes out after the filter stops
        record_from_environment(process_seconds(), status)
        if quiet is not None:
            quiet.stop()
        warnings.showwarning = shown
    return code


def exit_stage(code: int) -> NoReturn:
    """End a stage's process with ``code`` (``python -m ganpipe.stages.<name>``, as DVC runs it): the exit
    handlers run (logging, temporary files, worker pools) and the streams are flushed, but the
    interpreter's teardown of every module is skipped: with TensorFlow loaded it took ~1 s a stage, after
    every file the stage writes was written and closed."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader went away: nothing left to say to it
            pass
    os._exit(code)
