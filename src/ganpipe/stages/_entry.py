"""Shared command-line shell of the stages: common flags and one-line errors."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import Callable

from ..errors import GanpipeError


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    p.add_argument("--debug", action="store_true", help="show the full traceback on errors (or set GANPIPE_DEBUG=1)")
    return p


def run(body: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    """Call ``body(args)``; turn a GanpipeError into one line on stderr and exit status 2."""
    debug = args.debug or os.environ.get("GANPIPE_DEBUG", "") not in ("", "0")
    try:
        body(args)
    except GanpipeError as exc:
        if debug:
            traceback.print_exc()
        print(f"ganpipe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a stage turns it into this
        print(f"ganpipe: interrupted ({exc})" if str(exc) else "ganpipe: interrupted", file=sys.stderr)
        return 130
    return 0
