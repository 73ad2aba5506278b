"""Stage report: reports/report.md for every experiment in params.yaml ``runs``.

Also ``ganpipe report [--base REV]``. The metrics and params tables are DVC's own
(``dvc metrics diff --md``, ``dvc params diff --md`` against ``report.base``); the quality tables
put each number between its real-data floor and untrained ceiling; the loss plots and final
sample grids are linked PNGs.
"""

from __future__ import annotations

from pathlib import Path

from ..config import ReportConfig, load_section, read_params
from ..errors import ConfigError
from ..fileio import write_text_atomic
from . import _entry


def make_report(*, base: str, runs, out, reports_dir="reports", repo_dir=".", scorers=(), stage_times=False) -> Path:
    """Write the report for experiments ``runs`` (and the trained ``scorers`` they use: :func:`scorer_names`),
    compared with git revision ``base``, to ``out``; return its path.

    ``stage_times`` appends the stages' seconds (``ganpipe report``); the report stage leaves them out, so
    that a forced rerun writes the same bytes (seconds differ on every run).
    """
    from ..reporting.report import build_report, stage_times_section

    text = build_report(base=base, reports_dir=reports_dir, names=list(runs), out_dir=Path(out).parent,
                        repo_dir=repo_dir, scorers=scorers)
    write_text_atomic(out, text + (stage_times_section(reports_dir) if stage_times else ""))
    return Path(out)


def experiment_names(params_path) -> list[str]:
    runs = read_params(params_path).get("runs")
    if not isinstance(runs, dict) or not runs:
        raise ConfigError(f"{params_path}: runs: expected a mapping of experiment names to data folders")
    return list(runs)


def scorer_names(params_path) -> list[str]:
    """The trained scorers of params.yaml ``runs``, each once: ``x`` for a scorer ``models/x``, whose stage wrote
    reports/x/metrics.json (the judge, each picture set's ``<set>_features``; ganpipe.data.kinds)."""
    found = []
    for entry in read_params(params_path).get("runs", {}).values():
        scorer = str((entry or {}).get("scorer", "")) if isinstance(entry, dict) else ""
        if scorer.startswith("models/") and Path(scorer).name not in found:
            found.append(Path(scorer).name)
    return found


def add_arguments(p) -> None:
    p.add_argument("--base", default=None, help="git revision to compare with (default: params.yaml report.base)")
    p.add_argument("--reports", default="reports", help="reports folder (default reports)")
    p.add_argument("--out", default="reports/report.md", help="Markdown file to write (default reports/report.md)")


def run_from_args(args, stage_times: bool = False) -> Path:
    base = args.base or load_section(args.params, "report", ReportConfig).base
    path = make_report(base=base, runs=experiment_names(args.params), out=args.out, reports_dir=args.reports,
                       scorers=scorer_names(args.params), stage_times=stage_times)
    print(f"report: wrote {path} (compared with {base})")
    return path


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.report", __doc__)
    add_arguments(p)
    return _entry.run(run_from_args, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
