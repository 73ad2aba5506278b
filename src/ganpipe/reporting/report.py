"""reports/report.md: what changed against a base revision, the quality numbers on their scale, the plots.

The metric and params tables come from DVC itself (``dvc metrics diff --md``, ``dvc params diff --md``);
everything else is read from the files the stages wrote. :func:`render_report` is pure: it turns
what was collected into Markdown, so tests can call it without DVC or git.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..evaluation import DETAILS_FILE, QUALITY_FILE

# per-run pictures shown in the report, if the run has them (paths relative to reports/<run>/)
PICTURES = ("loss.png", "accuracy.png", "final_samples.png", "histogram.png", "memorisation.png")
# files whose numbers `dvc metrics diff` compares; timing.json is left out on purpose (it differs on every run)
METRIC_FILES = ("metrics.json", "quality.json", "faces.json")
SCORER_METRICS = "metrics.json"  # in reports/<scorer>/ of each trained scorer (judge, <set>_features)
# rows of the diff that only repeat the class histogram shown in the quality tables
_NOISY_METRICS = ("class_histogram",)


@dataclass
class RunReport:
    """What one experiment left in reports/<name>/."""

    name: str
    metrics: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)  # quality.json's headline, then quality_details.json's keys
    pictures: list[str] = field(default_factory=list)  # relative to the report's folder


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def collect_runs(reports_dir: str | os.PathLike, names, link_dir: str | os.PathLike) -> list[RunReport]:
    """Each run's numbers, and its pictures as links relative to ``link_dir`` (the report's folder)."""
    reports_dir = Path(reports_dir)
    runs = []
    for name in names:
        folder = reports_dir / name
        links = [Path(os.path.relpath(folder / p, link_dir)).as_posix() for p in PICTURES if (folder / p).is_file()]
        quality = {**read_json(folder / QUALITY_FILE), **read_json(folder / DETAILS_FILE)}
        runs.append(RunReport(name, read_json(folder / "metrics.json"), quality, links))
    return runs


def metric_targets(reports_dir: str | os.PathLike, names, prefix: str = "reports", scorers=()) -> list[str]:
    """The metric files the runs ``names`` and their trained ``scorers`` left in ``reports_dir``, as DVC knows
    them (``prefix``/...)."""
    reports_dir = Path(reports_dir)
    files = [f"{name}/{f}" for name in names for f in METRIC_FILES] + [f"{s}/{SCORER_METRICS}" for s in scorers]
    return [f"{prefix}/{f}" for f in files if (reports_dir / f).is_file()]


def run_dvc(args: list[str], cwd: str | os.PathLike = ".", *, env=None, timeout: float | None = 300
            ) -> tuple[bool, str]:
    """``dvc <args>`` in ``cwd`` -> (succeeded, stdout or the last line of stderr)."""
    try:
        proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return False, lines[-1] if lines else f"dvc exited with status {proc.returncode}"
    return True, proc.stdout


def revision_label(base: str, cwd: str | os.PathLike = ".") -> str:
    """``base`` with its short commit id, e.g. "origin/main (3f2a9c1)"; ``base`` alone if git does not know it."""
    try:
        proc = subprocess.run(["git", "rev-parse", "--short", f"{base}^{{commit}}"], cwd=cwd, capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return base
    sha = proc.stdout.strip()
    return f"{base} ({sha})" if proc.returncode == 0 and sha and sha != base else base


def drop_rows(markdown: str, words=_NOISY_METRICS) -> str:
    """Remove table rows that mention any of ``words`` (DVC prints one row per class-histogram bin);
    "" if no row of data is left (DVC prints a bare header when nothing changed). Rows are sorted:
    DVC's order varies from run to run, and the report must not."""
    lines = [line for line in markdown.splitlines() if line.strip() and not any(w in line for w in words)]
    return "\n".join(lines[:2] + sorted(lines[2:])) if len(lines) > 2 else ""


# a change counts only beyond the noise of both sides (metrics.noise_margin of the metric's
# ``<name>_std``); a number without a noise estimate counts as changed only beyond float rounding
# (relative RELATIVE_TOLERANCE): 1e-9 between two CPUs is not a change
RELATIVE_TOLERANCE = 1e-6


def _noise(entries: dict, name: str) -> float | None:
    """2 x the standard deviation of ``name``'s change, from its ``name_std`` on both sides; None if
    either side has none."""
    std = entries.get(f"{name}_std", {})
    old, new = std.get("old"), std.get("new")
    if not isinstance(old, (int, float)) or not isinstance(new, (int, float)):
        return None
    from ..evaluation import noise_margin

    return noise_margin(old, new)


def classify_changes(diff: dict) -> tuple[list[tuple], list[tuple]]:
    """``dvc metrics diff --json --all``'s mapping -> (changes, within noise), each a sorted list of
    (path, metric, old, new, change, noise or None).

    A number changed when its change exceeds :func:`_noise` (``evaluation.NOISE_MARGIN`` x the std of
    the difference), or, without a noise estimate, when it exceeds float rounding. ``*_std`` entries are
    the noise, not results, and the class histogram repeats the quality tables: neither is listed.
    A metric present on one side only, or a changed text value, is a change.
    """
    changes, within = [], []
    for path, entries in sorted(diff.items()):
        for name, entry in sorted(entries.items()):
            if name.endswith("_std") or any(w in name for w in _NOISY_METRICS):
                continue
            old, new = entry.get("old"), entry.get("new")
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (old, new))
            if not numbers:
                if old != new:
                    changes.append((path, name, old, new, None, None))
                continue
            change = new - old
            noise = _noise(entries, name)
            limit = noise if noise is not None else RELATIVE_TOLERANCE * max(abs(old), abs(new))
            row = (path, name, old, new, change, noise)
            if abs(change) > limit:
                changes.append(row)
            elif change != 0:
                within.append(row)
    return changes, within


def changes_markdown(diff: dict, old_label: str, new_label: str) -> str:
    """The report's "Metrics that changed" section body: a table of the changes beyond noise, then one
    line naming the differences within noise ("" if nothing differs at all)."""
    changes, within = classify_changes(diff)
    out = []
    if changes:
        out += [f"| Path | Metric | {old_label} | {new_label} | Change | Noise (2σ) |", "|---|---|---|---|---|---|"]
        out += [f"| {p} | {m} | {_num(o)} | {_num(n)} | {_num(c)} | {'–' if z is None else '± ' + _num(z, 2)} |"
                for p, m, o, n, c, z in changes]
    if within:
        listed = "; ".join(f"{Path(p).parent.name}/{m} {_num(o)} → {_num(n)}"
                           + (f" (noise ± {_num(z, 2)})" if z is not None else " (rounding)")
                           for p, m, o, n, c, z in within)
        lead = "" if changes else "No metric changed beyond its noise. "
        out += ([""] if changes else []) + [f"{lead}Unchanged within noise: {listed}."]
    return "\n".join(out).strip()


def _num(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _with_noise(values: dict, name: str) -> str:
    """``values[name]``, followed by "± std" where ``values`` has ``name_std``."""
    std = values.get(f"{name}_std")
    return _num(values.get(name)) + (f" ± {_num(std, 2)}" if isinstance(std, (int, float)) else "")


def quality_table(quality: dict) -> str:
    """Generated vs real (floor) vs untrained generator (ceiling), one row per scalar metric, each
    with its noise where measured ("6.1 ± 0.4")."""
    real, untrained = quality.get("real", {}), quality.get("untrained", {})
    scalars = [k for k, v in quality.items() if not isinstance(v, dict) and not k.endswith("_std")]
    names = [k for k in scalars if k in real]
    if not names:
        return ""
    rows = ["| metric | this run | real data | untrained generator |", "|---|---|---|---|"]
    rows += [f"| {k} | {_with_noise(quality, k)} | {_with_noise(real, k)} | {_with_noise(untrained, k)} |"
             for k in names]
    extra = [f"{k} {_with_noise(quality, k)}" for k in scalars if k not in real]
    return "\n".join(rows) + (f"\n\nAlso: {', '.join(extra)}." if extra else "")


def quality_line(quality: dict) -> str:
    """Quality numbers that have no real-data floor or untrained ceiling (the 1-D GAN's: generated mean, std,
    KS distance) as one sentence, with any nested mapping (its target) in brackets; "" where
    :func:`quality_table` applies or there is nothing to show."""
    if "real" in quality:
        return ""
    scalars = [f"{k} {_num(v)}" for k, v in quality.items() if not isinstance(v, dict)]
    if not scalars:
        return ""
    nested = ["{} {}".format(k, ", ".join(f"{kk} {_num(vv)}" for kk, vv in v.items()))
              for k, v in quality.items() if isinstance(v, dict) and v]
    return "Quality: " + ", ".join(scalars) + (f" ({'; '.join(nested)})" if nested else "") + "."


def class_histogram_line(quality: dict) -> str:
    hist = quality.get("class_histogram")
    if not hist:
        return ""
    return "Confident predictions per class: " + ", ".join(f"{k}: {v}" for k, v in hist.items()) + "."


def render_report(*, compared: str, metrics_diff: str, params_diff: str, runs: list[RunReport],
                  shared: dict[str, dict]) -> str:
    """The Markdown of report.md. ``compared`` says what was compared with what (a sentence);
    ``metrics_diff``/``params_diff`` are DVC's Markdown tables (or a note)."""
    out = ["# ganpipe report", "",
           f"{compared} Real data is the floor of each quality metric, an untrained "
           "generator of the same architecture the ceiling.", ""]
    out += ["## Metrics that changed", "", metrics_diff or "No metric changed.", ""]
    out += ["## Params that changed", "", params_diff or "No parameter changed.", ""]
    out += ["## Quality", ""]
    out += scorers_lines(shared, detected=any("detected_share" in run.quality for run in runs))
    for run in runs:
        out += [f"### {run.name}", ""]
        final = {k: v for k, v in run.metrics.items() if not isinstance(v, dict)}
        if final:
            out += ["Final training values: " + ", ".join(f"{k} {_num(v)}" for k, v in final.items()) + ".", ""]
        table = quality_table(run.quality) or quality_line(run.quality)
        if table:
            out += [table, ""]
        hist = class_histogram_line(run.quality)
        if hist:
            out += [hist, ""]
        out += [f"![{run.name}: {Path(p).stem.replace('_', ' ')}]({p})" for p in run.pictures]
        out += [""]
    return "\n".join(out).rstrip() + "\n"


def scorers_lines(shared: dict[str, dict], *, detected: bool) -> list[str]:
    """A paragraph on each trained scorer in ``shared`` ({reports folder: its metrics.json}): the digit judge,
    and the picture scorer of each picture set (``<set>_features``); and what detected_share is, if shown."""
    out = []
    judge = shared.get("judge") or {}
    if judge:
        out += [f"Digits are judged by a classifier with test accuracy **{_num(judge.get('test_accuracy'))}** "
                f"on {judge.get('test_images', '?')} real test images (domain FID: distance in its feature space).", ""]
    for name, scorer in shared.items():
        if name.endswith("_features") and scorer:
            out += [f"Pictures of the set `{name.removesuffix('_features')}` are measured (face_fid, face_kid, ...) in "
                    f"the feature space of an autoencoder trained on its {scorer.get('faces', '?')} real pictures "
                    f"(reconstruction MSE {_num(scorer.get('reconstruction_mse'))}).", ""]
    if detected:
        out += ["detected_share is the share of generated pictures in which animeface recognises a face "
                "(sets of anime faces only).", ""]
    return out


def _rename_columns(markdown: str, names: dict[str, str]) -> str:
    """The header row of a Markdown table with each revision in ``names`` replaced by its label."""
    lines = markdown.splitlines()
    if lines and lines[0].startswith("|"):
        for rev, label in names.items():
            lines[0] = lines[0].replace(f" {rev} ", f" {label} ")
    return "\n".join(lines)


def build_report(*, base: str, reports_dir: str | os.PathLike, names, out_dir: str | os.PathLike,
                 repo_dir: str | os.PathLike = ".", head: str | None = None, labels: dict | None = None,
                 scorers=()) -> str:
    """Collect everything for the runs ``names`` and render the report (picture links relative to ``out_dir``);
    ``scorers``: the reports folders of the trained scorers they use (``judge``, ``anime_features``).

    ``head`` None compares the workspace's results (in ``reports_dir``) with commit ``base``; otherwise
    commit ``head`` with commit ``base``, whose reports are in ``reports_dir``. ``labels`` may name
    the sides ("base", "head") and say how they were built ("how")."""
    labels = labels or {}
    base_label = labels.get("base") or revision_label(base, repo_dir)
    if head is None:
        prefix = Path(os.path.relpath(reports_dir, repo_dir)).as_posix()
        compared = f"The results in this workspace compared with those committed at **{base_label}**."
    else:
        prefix = "reports"
        compared = f"**{labels.get('head') or revision_label(head, repo_dir)}** compared with **{base_label}**"
        compared += f", {labels['how']}." if labels.get("how") else "."
    targets = metric_targets(reports_dir, names, prefix, scorers)
    revs = [base] + ([head] if head is not None else [])
    # side by side: each is a DVC start-up (~2.4 s of Python imports) and a read of both revisions
    with ThreadPoolExecutor(2) as pool:
        metrics_job = pool.submit(run_dvc, ["metrics", "diff", *revs, "--json", "--all", "--targets", *targets], repo_dir)
        params_job = pool.submit(run_dvc, ["params", "diff", *revs, "--md"], repo_dir)
        (ok, metrics_diff), (params_ok, params_diff) = metrics_job.result(), params_job.result()
    new_label = (labels.get("head") or head) if head is not None else "workspace"
    if ok:
        try:
            metrics_diff = changes_markdown(json.loads(metrics_diff or "{}"), base_label, new_label)
        except ValueError:
            metrics_diff = f"(dvc metrics diff against {base} printed no JSON)"
    else:
        metrics_diff = f"(dvc metrics diff against {base} failed: {metrics_diff})"
    params_diff = drop_rows(params_diff, ()) if params_ok else f"(dvc params diff against {base} failed: {params_diff})"
    if head is not None:  # column headers: the sides' names, not the refs their results were fetched to
        params_diff = _rename_columns(params_diff, {base: base_label, head: labels.get("head") or head})
    shared = {s: read_json(Path(reports_dir) / s / SCORER_METRICS) for s in scorers}
    return render_report(compared=compared, metrics_diff=metrics_diff, params_diff=params_diff,
                         runs=collect_runs(reports_dir, names, out_dir), shared=shared)


# ---- where the time went (issue 19): the stages' seconds that ganpipe.timings recorded ----

def stage_times_section(reports_dir: str | os.PathLike) -> str:
    """"## Stage times" with each stage's seconds of its last run under DVC (reports/timings/, beside
    ``reports_dir``'s runs); "" when none are recorded. The report stage runs last, so its own time is absent."""
    from ..timings import markdown_table, read_timings

    table = markdown_table(read_timings(Path(reports_dir).parent))
    return f"\n## Stage times\n\nSeconds of each stage's last run under DVC (start-up included).\n\n{table}\n" if table else ""
