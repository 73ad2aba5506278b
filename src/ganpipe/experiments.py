"""experiments.yaml: ready-made experiments kept out of params.yaml until one is used.

`dvc exp show` makes a column of every key in params.yaml, so the sections of experiments that
`dvc repro` does not train (dense_small, dense_burnin, ...) wait in experiments.yaml, laid out like
params.yaml (``runs.<name>``: its data folder, ``train.<name>``: its settings). :func:`add_run`
(``ganpipe add-run NAME``) copies one into params.yaml, where DVC tracks it like any other run.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from .config import TrainConfig, parse_section
from .errors import ConfigError

CATALOGUE = "experiments.yaml"

# the params.yaml list of runs that each evaluate stage scores, by the data folder it reads (dvc.yaml)
EVALUATION_LISTS = {"data/mnist": "evaluate", "data/anime": "evaluate_faces", "data/gauss1d": "evaluate_gauss1d"}


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


def add_run(name: str, *, params: str | os.PathLike = "params.yaml", catalogue: str | os.PathLike = CATALOGUE,
            data: str | None = None) -> list[str]:
    """Make experiment ``name`` of the catalogue one of params.yaml's runs.

    Copies ``train.<name>`` (checked as a :class:`TrainConfig` first) unless params.yaml has that
    section already, sets ``runs.<name>`` to ``data`` (default: the catalogue's folder) and appends
    ``name`` to the evaluation list of that folder (:data:`EVALUATION_LISTS`). Writes params.yaml
    atomically, keeping its comments. Returns what changed, one "key: value" line each (empty: nothing to do).
    """
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
    folder = data or doc["runs"].get(name) or known["runs"].get(name)
    if not folder:
        raise ConfigError(f"{catalogue}: runs.{name}: no data folder; give one with --data")

    changes = []
    if name not in doc["train"]:
        _append(doc["train"], name, section)
        changes.append(f"train.{name}: copied from {catalogue}")
    if doc["runs"].get(name) != folder:
        if name in doc["runs"]:
            doc["runs"][name] = folder
        else:
            _append(doc["runs"], name, folder)
        changes.append(f"runs.{name}: {folder}")
    listed = EVALUATION_LISTS.get(str(folder).rstrip("/"))
    if listed and isinstance(doc.get(listed), dict) and name not in (doc[listed].get("runs") or []):
        doc[listed]["runs"].append(name)
        changes.append(f"{listed}.runs: + {name}")
    if changes:
        out = io.StringIO()
        yaml.dump(doc, out)
        write_text_atomic(params, out.getvalue())
    return changes
