"""A run declared once: ``params.yaml: runs`` -> the parts of params.yaml and dvc.yaml that follow from it.

A run is one entry, ``runs.<name>: {data: <folder>, scorer: <path>}``. Its data folder's kind
(ganpipe.data.kinds) decides the rest, which DVC's ``foreach`` cannot expand and which :func:`sync`
(``ganpipe sync``, run by ``ganpipe add-run``) therefore writes:

- params.yaml ``runs.<name>.scorer``: the kind's scorer of that folder (the judge, the picture scorer of
  that picture set, models/<set>_features, the 1-D target in the data's manifest);
- params.yaml ``evaluate.runs``, ``evaluate_faces.runs``, ``evaluate_gauss1d.runs``: the runs each
  evaluation stage scores, by kind (``evaluate_faces.runs``: each with its data and scorer);
- dvc.yaml ``artifacts``: one model artifact per run;
- dvc.yaml ``metrics``: each run's ``timing.json``;
- the ``report`` stage's dependencies on every run's metrics and pictures (its code fingerprint kept).

A folder's kind is read from its ``manifest.json`` if it is prepared already, else from the prepare
stage in dvc.yaml that writes it (:data:`PREPARED_KINDS`; a ``foreach`` stage writes one folder per key
of the params mapping it iterates, such as ``prepare_pictures``). tests/test_runs.py checks that the
files hold what :func:`sync` would write.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from .data.manifest import PREPARED_BY
from .errors import ConfigError

CODE_DEPS = "fingerprints/"  # a stage's code dependency: its module's fingerprint (ganpipe.stages.fingerprint)
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


def _paths(entries) -> list[str]:
    return [str(next(iter(e))) if isinstance(e, dict) else str(e) for e in entries or []]


def stage_outs(pipeline: dict, params: dict) -> dict[str, list[str]]:
    """{stage name: its output paths} of ``pipeline``; a ``foreach`` stage over a params mapping
    (``foreach: ${prepare_pictures}``) has those of every key, ``${key}`` filled in."""
    found = {}
    for name, stage in (pipeline.get("stages") or {}).items():
        if "foreach" not in stage:
            found[name] = _paths(stage.get("outs"))
            continue
        node = params
        for part in str(stage["foreach"]).strip().removeprefix("${").removesuffix("}").split("."):
            node = node.get(part) if isinstance(node, dict) else None
        keys = list(node) if isinstance(node, dict) else []
        found[name] = [out.replace("${key}", str(key)) for key in keys
                       for out in _paths((stage.get("do") or {}).get("outs")) if "${item" not in out]
    return found


def folder_kind(folder: str, pipeline: dict, root: Path, params: dict | None = None):
    """The DataKind of a run's data ``folder``: its manifest's if prepared, else its prepare stage's in
    ``pipeline`` (whose foreach stages iterate ``params``; default: root/params.yaml)."""
    from .data.kinds import kind_named, kind_of

    if (root / folder / "manifest.json").is_file():
        try:
            return kind_of(root / folder)
        except Exception:  # an older manifest without its kind: the stage that rewrites it says
            pass
    if params is None:
        params = _load(_yaml(), root / "params.yaml") if (root / "params.yaml").is_file() else {}
    for name, outs in stage_outs(pipeline, params).items():
        if name in PREPARED_KINDS and folder in outs:
            return kind_named(PREPARED_KINDS[name])
    raise ConfigError(f"runs: data folder {folder}: not prepared yet and written by no prepare stage of dvc.yaml "
                      f"({', '.join(PREPARED_KINDS)})")


def planned(runs: dict, pipeline: dict, root: Path, params: dict | None = None) -> dict:
    """What follows from ``runs`` ({name: {data, scorer}}): scorers, evaluation lists, artifacts, metrics, report deps."""
    from .data.kinds import KINDS

    folders = {name: str(entry["data"]).rstrip("/") for name, entry in runs.items()}
    kinds = {name: folder_kind(folder, pipeline, root, params) for name, folder in folders.items()}
    scorers = {name: kind.scorer_path(folders[name]) for name, kind in kinds.items()}
    outs = {out for paths in stage_outs(pipeline, params or {}).values() for out in paths}
    report = []
    for name, kind in kinds.items():
        files = [*REPORT_FILES, *kind.report_pictures] + [f for f in ("faces.json",) if f"reports/{name}/{f}" in outs]
        report += [f"reports/{name}/{f}" for f in files]
    for k in KINDS.values():  # the trained scorers' own metrics, each once
        used = [k.scorer_metrics(folders[n]) for n, kind in kinds.items() if kind is k and k.scorer_stage]
        report += [f for i, f in enumerate(used) if f not in used[:i]]
    return {
        "scorers": scorers,
        "evaluations": {k.evaluation: k.evaluation_runs({n: {"data": folders[n], "scorer": scorers[n]}
                                                         for n, kind in kinds.items() if kind is k})
                        for k in KINDS.values()},
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
    changed = sync_docs(pdoc, ddoc, params.parent, where=params)
    if changed and write:
        for path, doc in ((params, pdoc), (pipeline, ddoc)):
            out = io.StringIO()
            yaml.dump(doc, out)
            if out.getvalue() != path.read_text(encoding="utf-8"):
                write_text_atomic(path, out.getvalue())
    return changed


def sync_docs(pdoc, ddoc, root: Path, *, where="params.yaml") -> list[str]:
    """:func:`sync` on loaded documents (params.yaml ``pdoc``, dvc.yaml ``ddoc`` of the project at ``root``),
    in place; returns the names of the parts that changed."""
    if not isinstance(pdoc, dict) or not isinstance(pdoc.get("runs"), dict) or not pdoc["runs"]:
        raise ConfigError(f"{where}: runs: expected a mapping of run names to {{data, scorer}}")
    plan = planned(pdoc["runs"], ddoc, Path(root), pdoc)
    return _sync_params(pdoc, plan) + _sync_pipeline(ddoc, plan)


def _sync_params(doc, plan: dict) -> list[str]:
    changed, added = [], []
    for name, scorer in plan["scorers"].items():
        if doc["runs"][name].get("scorer") != scorer:
            doc["runs"][name]["scorer"] = scorer
            changed.append(f"runs.{name}.scorer: {scorer}")
    for stage, wanted in plan["evaluations"].items():
        section = doc.get(stage)
        if not isinstance(section, dict):
            continue
        old = section.get("runs")
        changed += [f"{stage}.runs: - {n}" for n in old or [] if n not in wanted]
        added += [f"{stage}.runs: + {n}" for n in wanted if n not in (old or [])]
        changed += [f"{stage}.runs.{n}: {wanted[n]}" for n in wanted if isinstance(wanted, dict)
                    and isinstance(old, dict) and n in old and _plain(old[n]) != wanted[n]]
        if _plain(old) != wanted and not (old is None and not wanted):
            section["runs"] = _runs_node(old, wanted)
    return changed + added


def _runs_node(old, wanted):
    """``wanted`` (a list of names, or {name: {data, scorer}}) as a YAML node in ``old``'s place, its entries in flow style."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(wanted, list):
        node = old if isinstance(old, CommentedSeq) else CommentedSeq()
        node[:] = wanted
        return node
    node = old if isinstance(old, CommentedMap) else CommentedMap()
    for name in [n for n in node if n not in wanted]:
        del node[name]
    for name, entry in wanted.items():
        if _plain(node.get(name)) != entry:
            node[name] = CommentedMap(entry)
            node[name].fa.set_flow_style()
    return node


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
        _replace_items(doc["metrics"], plan["metrics"])
        changed.append("dvc.yaml: metrics")
    deps = doc["stages"]["report"]["deps"]
    code = [d for d in deps if str(d).startswith(CODE_DEPS)]
    if [d for d in deps if d not in code] != plan["report"]:
        deps[:] = plan["report"] + code
        changed.append("dvc.yaml: report's deps")
    return changed


def _replace_items(seq, items: list) -> None:
    """``seq[:] = items``, the comment below its last entry (the next section's) kept below the new last one."""
    below = seq.ca.items.pop(len(seq) - 1, None) if len(seq) else None
    seq[:] = items
    if below is not None and items:
        seq.ca.items[len(items) - 1] = below


def _plain(node):
    """A ruamel node as plain dicts, lists and scalars (for comparing)."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
