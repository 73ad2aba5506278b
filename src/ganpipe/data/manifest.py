"""The kind of data a prepared folder holds, as its prepare stage recorded it in ``manifest.json``.

Only the name is read here (a stage that takes one kind checks it without loading any kind's code);
ganpipe.data.kinds turns the name into the object that knows the data.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import DataError

MANIFEST_FILE = "manifest.json"
KIND_NAMES = ("digits", "pictures", "values")  # the kinds of ganpipe.data.kinds.KINDS
PREPARED_BY = {"digits": "prepare_mnist", "pictures": "prepare_pictures", "values": "prepare_gauss1d"}  # the stage writing each


def read_manifest(folder: str | os.PathLike, prepare: str = "the prepare stage") -> dict:
    """``folder``'s manifest.json; DataError naming the folder (and ``prepare``, the stage that makes it)
    if it is missing or not JSON."""
    path = Path(folder) / MANIFEST_FILE
    if not Path(folder).is_dir():
        raise DataError(f"{folder}: data folder not found (run {prepare} first?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{folder}: no {MANIFEST_FILE} (not a prepared data folder: run {prepare} first?)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not readable JSON ({exc})") from None


def read_kind(folder: str | os.PathLike, prepare: str = "the prepare stage") -> str:
    """The data kind's name in ``folder``'s manifest.json; DataError naming the folder (and ``prepare``,
    the stage that makes it) if it is missing or unknown."""
    path = Path(folder) / MANIFEST_FILE
    manifest = read_manifest(folder, prepare)
    if not isinstance(manifest, dict) or "kind" not in manifest:
        raise DataError(f"{path}: records no data kind (prepared by an older ganpipe: rerun its prepare stage)")
    if manifest["kind"] not in KIND_NAMES:
        raise DataError(f"{path}: unknown data kind {manifest['kind']!r} (known: {', '.join(KIND_NAMES)})")
    return manifest["kind"]


def check_kind(folder: str | os.PathLike, expected: str, stage: str) -> None:
    """DataError naming ``folder`` unless it holds ``expected`` (a kind's name), the only kind ``stage`` takes."""
    found = read_kind(folder, f"the {PREPARED_BY[expected]} stage")
    if found != expected:
        raise DataError(f"{folder}: holds {found}; {stage} takes {expected}")
