"""The seed program's raw MNIST files: headerless uint8, 784 bytes per image, 1 byte per label.

``np.fromfile(path, dtype=np.uint8).reshape(-1, 28, 28, 1)`` reads an image file back, exactly
as the original program did. A folder holds four of them::

    imagesTrain.bin  labelsTrain.bin  imagesTest.bin  labelsTest.bin
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_dir, write_array, write_json_atomic

IMAGE_SHAPE = (28, 28, 1)
IMAGE_BYTES = 28 * 28
SPLITS = ("Train", "Test")
NUM_CLASSES = 10


def image_file(folder: str | os.PathLike, split: str) -> Path:
    return Path(folder) / f"images{split}.bin"


def label_file(folder: str | os.PathLike, split: str) -> Path:
    return Path(folder) / f"labels{split}.bin"


@dataclass(frozen=True)
class Split:
    """One split of a digit-like dataset.

    images: uint8, shape (N, 28, 28, 1), values 0..255. labels: uint8, shape (N,), values 0..9.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        check_split(self.images, self.labels, where="arrays")

    def __len__(self) -> int:
        return len(self.labels)


def check_split(images: np.ndarray, labels: np.ndarray, *, where: str) -> None:
    """Raise DataError unless images are uint8 (N,28,28,1) and labels uint8 (N,) in 0..9."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{where}: images must be uint8 of shape (N, 28, 28, 1), got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DataError(f"{where}: labels must be uint8 of shape (N,), got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise DataError(f"{where}: {len(images)} images but {len(labels)} labels")
    check_labels(labels, where=where)


def check_labels(labels: np.ndarray, *, where: str) -> None:
    """Raise DataError naming ``where`` and the first label outside 0..9."""
    if len(labels) and labels.max() >= NUM_CLASSES:
        bad = int(np.argmax(labels >= NUM_CLASSES))
        raise DataError(f"{where}: label {int(labels[bad])} at index {bad} is outside 0-9")


def write_split(folder: str | os.PathLike, split: str, data: Split) -> dict[str, dict]:
    """Write ``images<split>.bin`` and ``labels<split>.bin`` into ``folder`` (a folder being written as a
    unit, see :func:`write_dataset`); return each file's manifest record by name."""
    paths = image_file(folder, split), label_file(folder, split)
    return {path.name: write_array(path, array) for path, array in zip(paths, (data.images, data.labels))}


def read_images_bin(path: str | os.PathLike, *, mmap: bool = False) -> np.ndarray:
    """Read a headerless image .bin as uint8 (N, 28, 28, 1); memory-mapped if ``mmap``."""
    path = Path(path)
    size = _file_size(path)
    if size == 0:
        raise DataError(f"{path}: file is empty, expected {IMAGE_BYTES} bytes per image")
    if size % IMAGE_BYTES:
        raise DataError(f"{path}: size {size} bytes is not a multiple of {IMAGE_BYTES} (one 28x28 image)")
    flat = np.memmap(path, dtype=np.uint8, mode="r") if mmap else np.fromfile(path, dtype=np.uint8)
    return flat.reshape(-1, *IMAGE_SHAPE)


def read_labels_bin(path: str | os.PathLike) -> np.ndarray:
    """Read a headerless label .bin as uint8 (N,), checking every value is 0..9."""
    path = Path(path)
    if _file_size(path) == 0:
        raise DataError(f"{path}: file is empty, expected one byte per label")
    labels = np.fromfile(path, dtype=np.uint8)
    check_labels(labels, where=str(path))
    return labels


def read_split(folder: str | os.PathLike, split: str) -> Split:
    """Read one split of a .bin folder, checking image and label counts agree."""
    images = read_images_bin(image_file(folder, split))
    labels = read_labels_bin(label_file(folder, split))
    if len(images) != len(labels):
        raise DataError(
            f"{label_file(folder, split)}: {len(labels)} labels but {image_file(folder, split).name} "
            f"holds {len(images)} images"
        )
    return Split(images, labels)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run the prepare_mnist stage first?)") from None


def write_dataset(folder: str | os.PathLike, train: Split, test: Split, *, source: str) -> dict:
    """Write both splits and ``manifest.json`` into ``folder`` as one unit; return the manifest.

    The manifest records the source, image shape and, per file, its element count, size and sha256.
    """
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        files = {}
        for split, data in zip(SPLITS, (train, test)):
            files.update(write_split(tmp, split, data))
        manifest = {
            "kind": "digits",  # ganpipe.data.kinds: what every later stage reads instead of guessing
            "format": "headerless uint8; images 784 bytes each (28x28 row-major), labels 1 byte each",
            "image_shape": list(IMAGE_SHAPE),
            "source": source,
            "counts": {split.lower(): len(data) for split, data in zip(SPLITS, (train, test))},
            "class_counts": {
                split.lower(): np.bincount(data.labels, minlength=NUM_CLASSES).tolist()
                for split, data in zip(SPLITS, (train, test))
            },
            "files": files,
        }
        write_json_atomic(tmp / "manifest.json", manifest)
    return manifest
