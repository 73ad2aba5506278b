"""experiments.yaml: ready-made experiments kept out of params.yaml until one is used.

`dvc exp show` makes a column of every key in params.yaml, so the sections of experiments that
`dvc repro` does not train (dense_small, dense_burnin, ...) wait in experiments.yaml, laid out like
params.yaml (``runs.<name>``: its data folder and its scorer, ``train.<name>``: its settings).
:func:`add_run` (``ganpipe add-run NAME``) copies one into params.yaml, where DVC tracks it like any
other run.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from .config import TrainConfig, parse_section
from .errors import ConfigError
from .runs import folder_kind, sync

CATALOGUE = "experiments.yaml"

def _yaml():
    from ruamel.yaml import YAML  # DVC's own YAML library: edits keep params.yaml's comments and layout

    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _trailing_token(node):
    """The comment token after ``node``'s last entry (its inline comment and the blank lines below), or None."""
    from ruamel.yaml.comments import CommentedMap

    while isinstance(node, CommentedMap) and node:
        last = next(reversed(node))
        if isinstance(node[last], CommentedMap) and node[last]:
            node = node[last]
            continue
        tokens = node.ca.items.get(last)
        return tokens[2] if tokens and len(tokens) > 2 else None
    return None


def _append(mapping, key, value) -> None:
    """``mapping[key] = value`` as its last entry; the blank lines that closed the mapping close it still."""
    before = _trailing_token(mapping)
    below = ""
    if before is not None and "\n" in before.value:
        inline, below = before.value.split("\n", 1)
        before.value = inline + "\n"
    after = _trailing_token(value)
    if after is not None and "\n" in after.value:  # the catalogue's blank line between sections
        after.value = after.value.split("\n", 1)[0] + "\n"
    mapping[key] = value
    closing = _trailing_token(mapping)
    if below and closing is not None:
        closing.value += below
    elif below:  # a scalar entry without any comment yet
        from ruamel.yaml.error import CommentMark
        from ruamel.yaml.tokens import CommentToken

        mapping.ca.items[key] = [None, None, CommentToken("\n" + below, CommentMark(0), None), None]


def _run_entry(path: Path, name: str, entry) -> dict | None:
    """``runs.<name>`` of ``path`` as {data, scorer}; None if absent; ConfigError if it is not such a mapping."""
    if entry is None:
        return None
    if not isinstance(entry, dict) or not {"data", "scorer"} <= set(entry):
        raise ConfigError(f"{path}: runs.{name}: expected {{data: <folder>, scorer: <path>}}, found {entry!r}")
    return entry


def add_run(name: str, *, params: str | os.PathLike = "params.yaml", catalogue: str | os.PathLike = CATALOGUE,
            data: str | None = None, pipeline: str | os.PathLike | None = None) -> list[str]:
    """Make experiment ``name`` of the catalogue one of params.yaml's runs.

    Copies ``train.<name>`` (checked as a :class:`TrainConfig` first) unless params.yaml has that
    section already, sets ``runs.<name>`` to ``{data, scorer}`` (default: the entry of params.yaml,
    else of the catalogue; ``data`` replaces its folder, and the scorer is that of the folder's data
    kind), writes params.yaml atomically, keeping its comments; then :func:`ganpipe.runs.sync` writes
    what follows from the run (its evaluation list, artifact, metrics and report inputs) into
    params.yaml and ``pipeline`` (default: the dvc.yaml beside params.yaml). Returns what changed,
    one line each (empty: nothing to do).
    """
    from ruamel.yaml.comments import CommentedMap

    from .fileio import write_text_atomic

    yaml = _yaml()
    params, catalogue = Path(params), Path(catalogue)
    try:
        doc = yaml.load(params.read_text(encoding="utf-8"))
        known = yaml.load(catalogue.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{exc.filename}: cannot read ({exc.strerror})") from None
    for path, node, keys in ((params, doc, ("runs", "train")), (catalogue, known, ("runs", "train"))):
        if not isinstance(node, dict) or any(not isinstance(node.get(k), dict) for k in keys):
            raise ConfigError(f"{path}: expected mappings 'runs' and 'train' at the top level")
    section = doc["train"].get(name)
    if section is None:
        if name not in known["train"]:
            raise ConfigError(f"{catalogue}: no experiment '{name}' (known: {', '.join(known['train'])})")
        section = known["train"][name]
    parse_section(dict(section), TrainConfig, source=str(params), section=f"train.{name}")
    current = _run_entry(params, name, doc["runs"].get(name))
    entry = current or _run_entry(catalogue, name, known["runs"].get(name))
    if entry is None and not data:
        raise ConfigError(f"{catalogue}: runs.{name}: no data folder; give one with --data")
    folder = str(data or entry["data"]).rstrip("/")
    pipeline = Path(pipeline) if pipeline is not None else params.parent / "dvc.yaml"
    try:
        stages = yaml.load(pipeline.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{pipeline}: cannot read ({exc.strerror})") from None
    scorer = folder_kind(folder, stages, params.parent).scorer_path(folder)
    wanted = CommentedMap(data=folder, scorer=scorer)
    wanted.fa.set_flow_style()

    changes = []
    if name not in doc["train"]:
        _append(doc["train"], name, section)
        changes.append(f"train.{name}: copied from {catalogue}")
    if current is None or dict(current) != dict(wanted):
        if current is None:
            _append(doc["runs"], name, wanted)
        else:
            current.update(wanted)
        changes.append(f"runs.{name}: data {folder}, scorer {scorer}")
    if changes:
        out = io.StringIO()
        yaml.dump(doc, out)
        write_text_atomic(params, out.getvalue())
    return changes + sync(params, pipeline)
