"""experiments.yaml: ready-made experiments kept out of params.yaml until one is used.

`dvc exp show` makes a column of every key in params.yaml, so the sections of experiments that
`dvc repro` does not train (dense_small, dense_burnin, ...) wait in experiments.yaml, laid out like
params.yaml (``runs.<name>``: its data folder and its scorer, ``train.<name>``: its settings).
:func:`add_run` (``ganpipe add-run NAME``) copies one into params.yaml, where DVC tracks it like any
other run. :func:`add_picture_run` (``ganpipe add-run NAME --from-folder PATH --size 32``) makes a
folder of pictures a picture set and a run on it, from experiments.yaml's ``templates.pictures<size>``.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from .config import PreparePicturesConfig, TrainConfig, parse_section
from .errors import ConfigError
from .fileio import write_text_atomic
from .runs import folder_kind, stage_outs, sync, sync_docs

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


PICTURE_SIZES = (32, 64)  # what the DCGANs draw (dcgan32, dcgan64); templates.pictures<size> in experiments.yaml


def add_picture_run(name: str, folder: str | os.PathLike, *, size: int, detect: bool = False,
                    params: str | os.PathLike = "params.yaml", catalogue: str | os.PathLike = CATALOGUE) -> list[str]:
    """Make the pictures under ``folder`` the picture set ``name`` and a run ``name`` on it, in one go.

    Writes ``prepare_pictures.<name>`` (``folder``, ``detect``, ``size`` x ``size`` crops, the rest from
    the catalogue's ``templates.pictures<size>``), ``train.<name>`` (that template's run: dcgan32 or
    dcgan64) and ``runs.<name>`` ({data: data/<name>, scorer: models/<name>_features}), then what
    follows from the run (:func:`ganpipe.runs.sync`). Everything is checked before anything is written:
    a size other than 32 or 64, a missing folder or one without a readable picture, a name taken by a
    run, a set or a stage's output raise ConfigError naming the key or the path, and leave both files as
    they were. Returns what changed, one line each.
    """
    from .runs import _yaml as runs_yaml

    if size not in PICTURE_SIZES:
        raise ConfigError(f"--size: expected {' or '.join(map(str, PICTURE_SIZES))}, got {size}")
    params, catalogue = Path(params), Path(catalogue)
    pipeline = params.parent / "dvc.yaml"
    yaml = runs_yaml()  # the layout `ganpipe sync` writes both files in
    docs = {path: _load_mapping(yaml, path) for path in (params, catalogue, pipeline)}
    doc, known = docs[params], docs[catalogue]
    missing = [section for section in ("prepare_pictures", "train", "runs") if not isinstance(doc.get(section), dict)]
    if missing:
        raise ConfigError(f"{params}: expected a mapping '{missing[0]}' at the top level")
    template = _template(known, catalogue, size)
    _check_free_name(name, doc, docs[pipeline], params)
    raw_dir = _picture_folder(folder, params.parent, template["prepare_pictures"]["min_face_size"])
    prepare = template["prepare_pictures"]
    prepare.update(raw_dir=raw_dir, detect=bool(detect))
    parse_section(dict(prepare), PreparePicturesConfig, source=str(catalogue), section=f"prepare_pictures.{name}")
    parse_section(dict(template["train"]), TrainConfig, source=str(catalogue), section=f"templates.pictures{size}.train")
    entry = _flow_map(data=f"data/{name}", scorer=f"models/{name}_features")
    for section, value in (("prepare_pictures", prepare), ("train", template["train"]), ("runs", entry)):
        _append(doc[section], name, value)
    changes = [f"prepare_pictures.{name}: {raw_dir}, detect {str(bool(detect)).lower()}, {size}x{size}",
               f"train.{name}: copied from {catalogue}: templates.pictures{size}", f"runs.{name}: data data/{name}"]
    changes += sync_docs(doc, docs[pipeline], params.parent, where=params)
    for path in (params, pipeline):
        out = io.StringIO()
        yaml.dump(docs[path], out)
        write_text_atomic(path, out.getvalue())
    return changes


def _load_mapping(yaml, path: Path):
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return doc


def _flow_map(**entries):
    from ruamel.yaml.comments import CommentedMap

    node = CommentedMap(entries)
    node.fa.set_flow_style()
    return node


def _template(known, catalogue: Path, size: int) -> dict:
    """A deep copy of the catalogue's ``templates.pictures<size>``: {prepare_pictures: ..., train: ...}."""
    import copy

    node = (known.get("templates") or {}).get(f"pictures{size}")
    if not isinstance(node, dict) or not all(isinstance(node.get(k), dict) for k in ("prepare_pictures", "train")):
        raise ConfigError(f"{catalogue}: templates.pictures{size}: expected mappings prepare_pictures and train")
    if not isinstance(node["prepare_pictures"].get("min_face_size"), int):
        raise ConfigError(f"{catalogue}: templates.pictures{size}.prepare_pictures.min_face_size: expected a whole "
                          f"number of pixels")
    return copy.deepcopy(node)


def _check_free_name(name: str, doc, pipeline, params: Path) -> None:
    """ConfigError naming the key or the path if run and set ``name`` would clash with what is there."""
    import re

    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
        raise ConfigError(f"{params}: run name {name!r}: expected a letter, then letters, digits or _")
    for section in ("runs", "train", "prepare_pictures"):
        if name in (doc.get(section) or {}):
            raise ConfigError(f"{params}: {section}.{name} exists already (choose another name)")
    taken = {out for outs in stage_outs(pipeline, doc).values() for out in outs}
    for path in (f"data/{name}", f"models/{name}", f"models/{name}_features", f"reports/{name}"):
        if path in taken or any(out.startswith(path + "/") for out in taken):
            raise ConfigError(f"{params}: run name {name!r}: {path} is written by a stage already (choose another name)")


def _picture_folder(folder, root: Path, min_side: int) -> str:
    """``folder`` as params.yaml records it (relative to ``root`` when inside it, else absolute), once it is
    known to hold at least one picture of ``min_side`` pixels a side that ganpipe can read."""
    from .data.faces import PictureError, list_pictures, load_picture

    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(f"{folder}: picture folder not found")
    files = list_pictures(path)
    for rel in files:
        try:
            load_picture(path / rel, min_side=min_side)
        except PictureError:
            continue
        return path.relative_to(root.resolve()).as_posix() if path.is_relative_to(root.resolve()) else str(path)
    raise ConfigError(f"{folder}: no readable picture of at least {min_side} px a side in {len(files)} file(s)")
