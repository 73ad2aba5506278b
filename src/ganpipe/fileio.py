"""Atomic file output: write to a temporary name beside the target, then rename.

An interrupted stage therefore never leaves a half-written file under the final name, and a
failed write leaves an earlier good file in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import GanpipeError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ensure_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) as a folder; a clear error if a file stands in the way."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GanpipeError(f"{path}: expected a folder for outputs, found an existing file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GanpipeError(f"{path}: cannot create output folder ({exc.strerror})") from exc
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` if the block succeeds.

    The temporary name keeps the target's suffix, since some writers (Keras, matplotlib) pick
    the format from it. On any exception the temporary file is removed and the target is untouched.
    """
    path = Path(path)
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as exc:
        raise GanpipeError(f"{path}: cannot write here ({exc.strerror})") from exc
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a folder turned read-only ...: one line naming the file
        tmp.unlink(missing_ok=True)
        raise GanpipeError(f"{path}: cannot write ({_reason(exc)})") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _reason(exc: OSError) -> str:
    """What went wrong, in a few words: the OS's message, else the exception's first line, else its type."""
    if exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented, key-sorted JSON (stable bytes for equal content)."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def sha256_array(array) -> str:
    """sha256 of an array's bytes in C order: what ``array.tofile`` writes, hashed without reading the file back."""
    import numpy as np

    return hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()


def write_array(path: str | os.PathLike, array) -> dict:
    """``array.tofile(path)`` (headerless, C order); return the file's manifest record: count, bytes, sha256."""
    import numpy as np

    array = np.ascontiguousarray(array)
    array.tofile(path)
    return {"count": len(array), "bytes": array.nbytes, "sha256": sha256_array(array)}


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    For outputs made of several files (the four .bin files and their manifest) that must change
    together: readers see either the old complete set or the new one. On failure the temporary
    folder is removed and the old ``path`` is left as it was.
    """
    import shutil

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GanpipeError(f"{path}: expected a folder for outputs, found an existing file")
    ensure_dir(path.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise GanpipeError(f"{path.parent}: cannot write here ({exc.strerror})") from exc
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:  # a full disk, a folder turned read-only ...: one line naming the folder
        shutil.rmtree(tmp, ignore_errors=True)
        raise GanpipeError(f"{path}: cannot write ({_reason(exc)})") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
