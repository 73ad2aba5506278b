"""``ganpipe seeds``: the experiments that differ only in their seeds, as mean ± spread.

One GAN run is not a measurement: the same settings with another seed moved digit FID by a
third in our measurements. Run the settings over several seeds as queued DVC experiments::

    dvc exp run --queue -S train.mnist.seed=1,2,3     # three experiments, one per seed
    dvc queue start                                   # one at a time on a small machine
    ganpipe seeds                                     # mean ± std of each headline number

``ganpipe seeds`` reads ``dvc exp show --json``, groups the experiments (and the workspace and
commits) whose params are equal once every ``*.seed`` param is set aside, and gives each group's
headline metrics (quality.json, the winning snapshot's step) as mean ± sample standard deviation,
with the min-max range and the seeds behind them: the metrics of the runs whose ``train.<run>.seed``
varies (all metrics if none does). A clean workspace, a copy of its commit, counts once.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field

from .errors import GanpipeError

# metrics files whose numbers are summarised (the headline numbers `dvc exp show` shows)
METRIC_FILES = ("quality.json", "metrics.json")
# metrics.json keys worth a mean: which snapshot won (the final losses say little across seeds)
TRAINING_KEYS = ("best_step",)


@dataclass
class Row:
    """One experiment (or commit, or the workspace) as ``dvc exp show --json`` lists it."""

    name: str
    params: dict[str, object]  # flattened: "train.mnist.seed" -> 1
    metrics: dict[str, float]  # "mnist/domain_fid" -> 6.2


@dataclass
class Group:
    settings: dict[str, object]  # the params the group shares (seeds set aside)
    seeds: list[dict] = field(default_factory=list)  # each row's *.seed params
    names: list[str] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)


def flatten(data, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def metric_name(path: str, key: str) -> str | None:
    """"reports/mnist/quality.json", "domain_fid" -> "mnist/domain_fid"; None for numbers not summarised."""
    parts = path.replace("\\", "/").split("/")
    if len(parts) < 3 or parts[-1] not in METRIC_FILES:
        return None
    if parts[-1] == "metrics.json" and key not in TRAINING_KEYS:
        return None
    if key.endswith("_std"):  # one run's sampling noise; the spread over seeds is what is summarised
        return None
    return f"{parts[-2]}/{key}"


def parse_exp_show(entries: list) -> list[Row]:
    """``dvc exp show --json`` -> one Row per workspace, commit and experiment that has metrics."""
    rows = []

    def add(rev: dict, fallback: str):
        data = rev.get("data") or {}
        params = {}
        for file_data in (data.get("params") or {}).values():
            params.update(flatten(file_data.get("data")))
        metrics = {}
        for path, file_data in (data.get("metrics") or {}).items():
            for key, value in flatten(file_data.get("data")).items():
                name = metric_name(path, key)
                if name is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
                    metrics[name] = float(value)
        if metrics:
            rows.append(Row(rev.get("name") or fallback, params, metrics))

    def short(rev: dict) -> str:
        name = rev.get("rev", "?")
        return name if name == "workspace" else name[:7]

    for entry in entries:
        add(entry, short(entry))
        for exp in entry.get("experiments") or []:
            for rev in exp.get("revs") or []:
                add(rev, short(rev))
    return rows


def without_clean_workspace(rows: list[Row]) -> list[Row]:
    """The rows less the workspace where it only repeats a commit (same params, same metrics)."""
    def same(a: Row, b: Row) -> bool:
        return a.params == b.params and a.metrics == b.metrics

    return [r for r in rows if not (r.name == "workspace" and any(same(r, o) for o in rows if o is not r))]


def group_by_settings(rows: list[Row]) -> list[Group]:
    """Rows whose params agree except for ``*.seed`` keys, in order of first appearance
    (a clean workspace, a copy of its commit, counts once)."""
    groups: dict[str, Group] = {}
    for row in without_clean_workspace(rows):
        settings = {k: v for k, v in row.params.items() if not k.endswith(".seed")}
        key = json.dumps(settings, sort_keys=True, default=str)
        group = groups.setdefault(key, Group(settings))
        group.names.append(row.name)
        group.seeds.append({k: v for k, v in row.params.items() if k.endswith(".seed")})
        for name, value in row.metrics.items():
            group.values.setdefault(name, []).append(value)
    return list(groups.values())


def differing(groups: list[Group]) -> list[str]:
    """The params (seeds aside) whose values differ between groups: what tells them apart."""
    keys = sorted({k for g in groups for k in g.settings})
    return [k for k in keys if len({json.dumps(g.settings.get(k), default=str) for g in groups}) > 1]


def _num(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e9 else f"{value:.4g}"


def spread(values: list[float]) -> str:
    """"6.2 ± 0.6 (5.5–6.7)" for several values, the value alone for one."""
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return "–"
    if len(finite) == 1:
        return _num(finite[0])
    return (f"{_num(statistics.fmean(finite))} ± {statistics.stdev(finite):.2g} "
            f"({_num(min(finite))}–{_num(max(finite))})")


def render(groups: list[Group], *, min_seeds: int = 1) -> str:
    """A Markdown section per group of at least ``min_seeds`` rows: what sets it apart, then a table."""
    shown = [g for g in groups if len(g.names) >= min_seeds]
    if not shown:
        return f"No group of experiments with at least {min_seeds} seeds.\n"
    apart = differing(groups)
    out = []
    for i, group in enumerate(shown, 1):
        what = ", ".join(f"{k}={group.settings.get(k)}" for k in apart) or "the same params"
        varied = sorted({k for seeds in group.seeds for k in seeds
                         if len({json.dumps(s.get(k)) for s in group.seeds}) > 1})
        runs = [name + (" (" + ", ".join(f"{k}={seeds.get(k)}" for k in varied) + ")" if varied else "")
                for name, seeds in zip(group.names, group.seeds)]
        out += [f"## Group {i}: {what}", "", f"{len(group.names)} runs: " + "; ".join(runs), "",
                "| metric | mean ± std (min–max) | n |", "|---|---|---|"]
        # the runs whose seed varies here (train.<run>.seed), or every run when no such seed varies
        seeded = {k.split(".")[1] for k in varied if k.startswith("train.") and k.count(".") == 2}
        out += [f"| {name} | {spread(values)} | {len(values)} |" for name, values in sorted(group.values.items())
                if not seeded or name.split("/")[0] in seeded]
        out += [""]
    return "\n".join(out)


def exp_show_json(repo: str = ".") -> list:
    from .reporting.report import run_dvc

    ok, out = run_dvc(["exp", "show", "--json"], repo)
    if not ok:
        raise GanpipeError(f"dvc exp show: {out}")
    try:
        return json.loads(out)
    except ValueError:
        raise GanpipeError("dvc exp show --json: output is not JSON") from None


def summarise(repo: str = ".", *, min_seeds: int = 2) -> str:
    return render(group_by_settings(parse_exp_show(exp_show_json(repo))), min_seeds=min_seeds)
