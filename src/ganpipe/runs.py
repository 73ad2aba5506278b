"""A run declared once: ``params.yaml: runs`` -> the parts of params.yaml and dvc.yaml that follow from it.

A run is one entry, ``runs.<name>: {data: <folder>, scorer: <path>}``. Its data folder's kind
(ganpipe.data.kinds) decides the rest, which DVC's ``foreach`` cannot expand and which :func:`sync`
(``ganpipe sync``, run by ``ganpipe add-run``) therefore writes:

- params.yaml ``runs.<name>.scorer``: the kind's scorer of that folder (the judge, the face features,
  the 1-D target in the data's manifest);
- params.yaml ``evaluate.runs``, ``evaluate_faces.runs``, ``evaluate_gauss1d.runs``: the runs each
  evaluation stage scores, by kind;
- dvc.yaml ``artifacts``: one model artifact per run;
- dvc.yaml ``metrics``: each run's ``timing.json``;
- the ``report`` stage's dependencies on every run's metrics and pictures (its ``src/`` entries kept).

A folder's kind is read from its ``manifest.json`` if it is prepared already, else from the prepare
stage in dvc.yaml that writes it (:data:`PREPARED_KINDS`). tests/test_runs.py checks that the
files hold what :func:`sync` would write.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from .data.manifest import PREPARED_BY
from .errors import ConfigError

PREPARED_KINDS = {stage: kind for kind, stage in PREPARED_BY.items()}  # the kind of the folder each prepare stage writes

# what the report reads of every run, beside the kind's own pictures (DataKind.report_pictures)
REPORT_FILES = ("metrics.json", "quality.json", "quality_details.json", "loss.png")


def _yaml():
    from ruamel.yaml import YAML  # DVC's own YAML library: edits keep the files' comments and layout

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(yaml, path: Path):
    try:
        return yaml.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def folder_kind(folder: str, pipeline: dict, root: Path):
    """The DataKind of a run's data ``folder``: its manifest's if prepared, else its prepare stage's in ``pipeline``."""
    from .data.kinds import kind_named, kind_of

    if (root / folder / "manifest.json").is_file():
        try:
            return kind_of(root / folder)
        except Exception:  # an older manifest without its kind: the stage that rewrites it says
            pass
    for name, stage in (pipeline.get("stages") or {}).items():
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in stage.get("outs") or []]
        if name in PREPARED_KINDS and folder in outs:
            return kind_named(PREPARED_KINDS[name])
    raise ConfigError(f"runs: data folder {folder}: not prepared yet and written by no prepare stage of dvc.yaml "
                      f"({', '.join(PREPARED_KINDS)})")


def planned(runs: dict, pipeline: dict, root: Path) -> dict:
    """What follows from ``runs`` ({name: {data, scorer}}): scorers, evaluation lists, artifacts, metrics, report deps."""
    from .data.kinds import KINDS

    kinds = {name: folder_kind(str(entry["data"]).rstrip("/"), pipeline, root) for name, entry in runs.items()}
    outs = {next(iter(o)) if isinstance(o, dict) else o for stage in (pipeline.get("stages") or {}).values()
            for o in stage.get("outs") or []}
    report = []
    for name, kind in kinds.items():
        files = [*REPORT_FILES, *kind.report_pictures] + [f for f in ("faces.json",) if f"reports/{name}/{f}" in outs]
        report += [f"reports/{name}/{f}" for f in files]
    used = [k for k in KINDS.values() if k in kinds.values() and k.scorer_stage]
    report += [f"reports/{k.scorer_stage}/metrics.json" for k in used]
    return {
        "scorers": {name: kind.scorer_path(str(runs[name]["data"]).rstrip("/")) for name, kind in kinds.items()},
        "evaluations": {k.evaluation: [n for n, kind in kinds.items() if kind is k] for k in KINDS.values()},
        "artifacts": {name: {"path": f"models/{name}", "type": "model",
                             "desc": f"train@{name}: the generator of {kind.name} trained on {runs[name]['data']} "
                                     "(generator.keras + generator.json)",
                             "labels": ["gan", "generator", name]} for name, kind in kinds.items()},
        "metrics": [f"reports/{name}/timing.json" for name in runs],
        "report": report,
    }


def sync(params: str | os.PathLike = "params.yaml", pipeline: str | os.PathLike = "dvc.yaml", *,
         write: bool = True) -> list[str]:
    """Rewrite the parts of ``params`` and ``pipeline`` that follow from ``runs`` (module docstring); returns
    the names of the parts that changed (with ``write=False`` only says which would)."""
    from .fileio import write_text_atomic

    yaml, params, pipeline = _yaml(), Path(params), Path(pipeline)
    pdoc, ddoc = _load(yaml, params), _load(yaml, pipeline)
    if not isinstance(pdoc, dict) or not isinstance(pdoc.get("runs"), dict) or not pdoc["runs"]:
        raise ConfigError(f"{params}: runs: expected a mapping of run names to {{data, scorer}}")
    plan = planned(pdoc["runs"], ddoc, params.parent)
    changed = _sync_params(pdoc, plan) + _sync_pipeline(ddoc, plan)
    if changed and write:
        for path, doc in ((params, pdoc), (pipeline, ddoc)):
            out = io.StringIO()
            yaml.dump(doc, out)
            if out.getvalue() != path.read_text(encoding="utf-8"):
                write_text_atomic(path, out.getvalue())
    return changed


def _sync_params(doc, plan: dict) -> list[str]:
    changed, added = [], []
    for name, scorer in plan["scorers"].items():
        if doc["runs"][name].get("scorer") != scorer:
            doc["runs"][name]["scorer"] = scorer
            changed.append(f"runs.{name}.scorer: {scorer}")
    for stage, names in plan["evaluations"].items():
        section = doc.get(stage)
        if not isinstance(section, dict):
            continue
        old = list(section.get("runs") or [])
        changed += [f"{stage}.runs: - {n}" for n in old if n not in names]
        added += [f"{stage}.runs: + {n}" for n in names if n not in old]
        if old != names:
            if section.get("runs") is None:
                section["runs"] = []
            section["runs"].clear()
            section["runs"].extend(names)
    return changed + added


def _sync_pipeline(doc, plan: dict) -> list[str]:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    changed = []
    artifacts = doc.get("artifacts") or CommentedMap()
    if {k: _plain(v) for k, v in artifacts.items()} != plan["artifacts"]:
        for name in [n for n in artifacts if n not in plan["artifacts"]]:
            del artifacts[name]
        for name, entry in plan["artifacts"].items():
            labels = CommentedSeq(entry["labels"])
            labels.fa.set_flow_style()
            artifacts[name] = CommentedMap({**entry, "labels": labels})
        doc["artifacts"] = artifacts
        changed.append("dvc.yaml: artifacts")
    if list(doc.get("metrics") or []) != plan["metrics"]:
        doc["metrics"] = CommentedSeq(plan["metrics"]) if doc.get("metrics") is None else doc["metrics"]
        doc["metrics"][:] = plan["metrics"]
        changed.append("dvc.yaml: metrics")
    deps = doc["stages"]["report"]["deps"]
    if [d for d in deps if not str(d).startswith("src/")] != plan["report"]:
        deps[:] = plan["report"] + [d for d in deps if str(d).startswith("src/")]
        changed.append("dvc.yaml: report's deps")
    return changed


def _plain(node):
    """A ruamel node as plain dicts, lists and scalars (for comparing)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
