"""Where the time of ``dvc repro`` goes: each stage's seconds, and the table of them.

Every stage run by DVC (which names it in ``DVC_STAGE``) writes ``reports/timings/<stage>.json``
when it ends: its wall seconds from the start of the process, when it finished, and whether it
succeeded. The folder is no DVC output and git ignores it, so timings, which differ on every run,
never change a hash in dvc.lock. ``make pipeline`` runs ``dvc repro`` and then

    python -m ganpipe.timings --since <when dvc repro started>

which prints each stage's seconds, whether it ran this time or was up to date (its last seconds
then), and the total; the report stage puts the same table in reports/report.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

FOLDER = Path("reports") / "timings"


def file_name(stage: str) -> str:
    """``train@mnist`` -> ``train@mnist.json`` (a stage of another dvc.yaml, ``sub/dvc.yaml:x``, flattened)."""
    return stage.replace("/", "_").replace(":", "_") + ".json"


def process_seconds() -> float:
    """Seconds since this process started: from /proc (the interpreter's own start-up included), else
    since ganpipe was imported."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            ticks = int(fh.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime, after the command name
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        from . import STARTED

        return time.time() - STARTED


def record(root, stage: str, seconds: float, status: str, *, finished: float | None = None) -> Path:
    """Write the timing of ``stage`` under ``root``; returns the file's path."""
    from .fileio import write_json_atomic

    path = Path(root) / FOLDER / file_name(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, {"stage": stage, "seconds": round(seconds, 2), "status": status,
                             "finished": round(time.time() if finished is None else finished, 3)})
    return path


def record_from_environment(seconds: float, status: str, environ=os.environ) -> Path | None:
    """:func:`record` for a stage that DVC runs (``DVC_STAGE``, ``DVC_ROOT``); None outside DVC or if unwritable."""
    stage = environ.get("DVC_STAGE")
    if not stage:
        return None
    try:
        return record(environ.get("DVC_ROOT") or ".", stage, seconds, status)
    except OSError as exc:
        print(f"ganpipe: warning: {FOLDER}: cannot record the stage's time ({exc.strerror or exc})", file=sys.stderr)
        return None


def read_timings(root=".") -> list[dict]:
    """Every recorded stage under ``root``, in the order they finished; unreadable files are skipped."""
    rows = []
    for path in sorted((Path(root) / FOLDER).glob("*.json")):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
            rows.append({"stage": str(row["stage"]), "seconds": float(row["seconds"]),
                         "status": str(row.get("status", "ok")), "finished": float(row["finished"])})
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(rows, key=lambda r: r["finished"])


def _outcome(row: dict, since: float | None) -> str:
    if since is not None and row["finished"] < since:
        return "up to date (last run " + time.strftime("%Y-%m-%d %H:%M", time.localtime(row["finished"])) + ")"
    return "ran" if row["status"] == "ok" else row["status"]


def text_table(rows: list[dict], since: float | None = None, now: float | None = None) -> str:
    """The table for a terminal: stage, seconds, and with ``since`` (when dvc repro started) whether each
    ran this time; the total of those that ran, and with ``since`` the wall time and DVC's own share."""
    if not rows:
        return f"stage times: none recorded in {FOLDER} (stages record theirs when DVC runs them)"
    width = max(len("stage"), *(len(r["stage"]) for r in rows))
    lines = [f"{'stage':<{width}}  {'seconds':>8}  this run"]
    lines += [f"{r['stage']:<{width}}  {r['seconds']:8.1f}  {_outcome(r, since)}" for r in rows]
    ran = [r for r in rows if since is None or r["finished"] >= since]
    total = sum(r["seconds"] for r in ran)
    lines.append(f"{'total':<{width}}  {total:8.1f}  {len(ran)} stage(s) ran" + (
        "" if since is None else f", {len(rows) - len(ran)} up to date"))
    if since is not None:
        wall = (time.time() if now is None else now) - since
        lines.append(f"dvc repro took {wall:.1f} s: {total:.1f} s in the stages, {max(wall - total, 0.0):.1f} s in DVC "
                     "itself (hashing, checking, caching)")
    return "\n".join(lines)


def markdown_table(rows: list[dict]) -> str:
    """The same table in Markdown (for reports/report.md): stage, seconds, when it last finished."""
    if not rows:
        return ""
    out = ["| stage | seconds | finished |", "|---|---:|---|"]
    out += [f"| {r['stage']} | {r['seconds']:.1f} | "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(r['finished']))}"
            f"{'' if r['status'] == 'ok' else ' (' + r['status'] + ')'} |" for r in rows]
    out.append(f"| **total** | **{sum(r['seconds'] for r in rows):.1f}** | |")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m ganpipe.timings", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--since", type=float, default=None,
                   help="when dvc repro started (seconds since the epoch): stages that finished before were up to date")
    p.add_argument("--root", default=".", help="the project's folder (default: here)")
    args = p.parse_args(argv)
    print(text_table(read_timings(args.root), args.since))
    return 0


if __name__ == "__main__":
    sys.exit(main())
