"""Resumable checkpoints: one ``.npz`` per checkpoint with every state variable and the run's records.

A checkpoint holds the generator's and discriminator's weights (BatchNorm statistics included),
both optimizers' state, the number of completed steps and the history recorded so far. Random
draws are keyed by (seed, step), so the step count is all the RNG state there is. A fingerprint of
the settings and the data guards against resuming a different run. Files are written atomically;
a damaged file is reported and the previous one is used.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from ..fileio import atomic_path, ensure_dir

KEEP = 2


def fingerprint(settings: dict, data_digest: str) -> str:
    """sha256 of the settings that shape training (JSON, sorted keys) and of the training data."""
    text = json.dumps(settings, sort_keys=True, default=list) + "\n" + data_digest
    return hashlib.sha256(text.encode()).hexdigest()


def _path(folder: Path, step: int) -> Path:
    return folder / f"ckpt-{step:09d}.npz"


def save(folder, *, steps_done: int, variables, records: dict[str, np.ndarray], fingerprint: str) -> Path:
    """Write ``ckpt-<steps_done>.npz`` atomically and prune all but the newest KEEP checkpoints."""
    folder = ensure_dir(folder)
    arrays = {f"var{i:04d}": np.asarray(v) for i, v in enumerate(variables)}
    arrays.update({f"rec_{name}": np.asarray(value) for name, value in records.items()})
    arrays["steps_done"] = np.int64(steps_done)
    arrays["fingerprint"] = np.array(fingerprint)
    path = _path(folder, steps_done)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    for old in sorted(folder.glob("ckpt-*.npz"))[:-KEEP]:
        old.unlink()
    return path


def load_latest(folder, *, variables, fingerprint: str):
    """Restore the newest usable checkpoint in ``folder`` into ``variables``.

    Returns ``(steps_done, records)``, or None when there is none for this fingerprint. A file that
    cannot be read or does not fit the variables is skipped with a warning naming it.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("ckpt-*.npz"), reverse=True):
        try:
            with np.load(path, allow_pickle=False) as npz:
                if str(npz["fingerprint"]) != fingerprint:
                    continue  # another run's checkpoint: not an error, just not ours
                values = [npz[f"var{i:04d}"] for i in range(len(variables))]
                for var, value in zip(variables, values):
                    if tuple(var.shape) != value.shape:
                        raise ValueError(f"variable {var.path} has shape {tuple(var.shape)}, checkpoint {value.shape}")
                records = {key[4:]: npz[key] for key in npz.files if key.startswith("rec_")}
                steps_done = int(npz["steps_done"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"{path}: damaged checkpoint skipped ({exc})", stacklevel=2)
            continue
        for var, value in zip(variables, values):
            var.assign(value)
        return steps_done, records
    return None


def clear(folder) -> None:
    """Remove the checkpoints in ``folder`` (another run's, or a finished run's when not kept)."""
    folder = Path(folder)
    if folder.is_dir():
        for path in folder.glob("ckpt-*.npz"):
            path.unlink()
        for path in folder.glob("samples/*/*.png"):
            path.unlink()




