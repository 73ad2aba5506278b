"""Anime pictures -> faces: reading any picture, animeface on real anime art, crop geometry,
faces.bin, the procedural demo pictures, and the make_anime_demo / prepare_pictures stages.

Real anime art comes from Debian's renpy-demo package (Ren'Py's demo game, MIT-licensed art):
fetched once with `apt-get download` into ~/.cache/ganpipe-tests/renpy (no root needed); the
tests that need it are skipped with the reason if it cannot be had. The photograph of a person
is Grace Hopper's portrait that matplotlib ships as sample data.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import PIL
import pytest
from PIL import Image

from ganpipe.config import AnimeDemoConfig, PreparePicturesConfig, load_section
from ganpipe.data import anime_demo
from ganpipe.data.faces import (
    PictureError, centre_box, detect_faces, extract_faces, load_picture, read_faces_bin, square_box, write_faces,
)
from ganpipe.errors import ConfigError, DataError
from ganpipe.stages import make_anime_demo, prepare_pictures

from .conftest import REPO, fetch_debian_package, write_params

RENPY_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ganpipe-tests" / "renpy"
RENPY_IMAGES = "usr/share/games/renpy/demo/game/images"
# character sprites on which animeface finds the face at likelihood >= 0.95 (Lucy's "mad" face only reaches 0.88)
SPRITES = ("eileen happy.png", "eileen concerned.png", "eileen vhappy.png", "lucy happy.png")

CFG = PreparePicturesConfig(raw_dir="unused", detect=True, threshold=0.95, margin=0.15, image_size=64, min_face_size=32)


def fetch_renpy_demo(cache: Path) -> Path:
    """Download and unpack Debian's renpy-demo into ``cache`` once; return its images folder."""
    return fetch_debian_package("renpy-demo", cache) / RENPY_IMAGES


@pytest.fixture(scope="session")
def renpy_images() -> Path:
    try:
        return fetch_renpy_demo(RENPY_CACHE)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"Debian's renpy-demo (real anime art) is not available: {exc}")


@pytest.fixture(scope="session")
def photo_of_person() -> Path:
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


@pytest.fixture(scope="session")
def demo_scenes(tmp_path_factory) -> list[Path]:
    return anime_demo.make_demo(tmp_path_factory.mktemp("demo") / "raw", 6, seed=3)


def encoded(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def noise(size=(64, 48), mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).convert(mode)


def png_with_size(width: int, height: int) -> bytes:
    """A valid small PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    data = bytearray(encoded(Image.new("1", (8, 8)), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


# ---- animeface on real anime art, and on what is not anime --------------------------------------

def test_animeface_finds_the_face_on_renpy_character_sprites(renpy_images):
    """Fails if animeface ever stops finding faces (as it silently does with Pillow >= 12)."""
    for name in SPRITES:
        img = load_picture(renpy_images / name)
        found = detect_faces(img, threshold=0.95, min_face_size=32)
        assert len(found) == 1, f"{name}: {len(found)} faces at likelihood >= 0.95 with Pillow {PIL.__version__}"
        (x, y, w, h), likelihood = found[0]
        # the sprites show the character to the knees: the face sits in the top 40 %, centred
        assert y + h < 0.4 * img.height and abs(x + w / 2 - img.width / 2) < img.width / 4, (name, found)
        assert 100 <= w <= 200 and likelihood >= 0.95


def test_extract_faces_on_real_anime_art(renpy_images, tmp_path):
    raw = tmp_path / "raw"
    (raw / "eileen").mkdir(parents=True)
    for name in SPRITES[:3]:
        shutil.copy(renpy_images / name, raw / "eileen" / name)
    shutil.copy(renpy_images / SPRITES[3], raw / "lucy.png")
    shutil.copy(renpy_images / "bg washington.jpg", raw / "washington.jpg")  # a photograph: no face
    faces, manifest = extract_faces(raw, CFG)
    assert faces.shape == (4, 64, 64, 3) and faces.dtype == np.uint8
    paths = [p["path"] for p in manifest["pictures"]]
    assert paths == ["eileen/eileen concerned.png", "eileen/eileen happy.png", "eileen/eileen vhappy.png",
                     "lucy.png", "washington.jpg"]
    assert [len(p["faces"]) for p in manifest["pictures"]] == [1, 1, 1, 1, 0]
    assert manifest["pictures"][4]["skipped"] == "no face at likelihood >= 0.95"
    assert manifest["counts"]["detection_rate"] == 0.8
    # the sprites are RGBA: their transparent background comes out white
    with Image.open(raw / "lucy.png") as sprite:
        assert sprite.mode == "RGBA" and sprite.getpixel((0, 0))[3] == 0
    assert load_picture(raw / "lucy.png").getpixel((0, 0)) == (255, 255, 255)


def test_no_face_on_plain_picture_or_photograph_of_a_person(photo_of_person):
    gradient = np.linspace(0, 255, 320, dtype=np.uint8)[None, :, None].repeat(240, 0).repeat(3, 2)
    for img in (Image.new("RGB", (320, 240), (200, 180, 160)), Image.fromarray(gradient)):
        assert detect_faces(img, threshold=0.95, min_face_size=1) == []
    photo = load_picture(photo_of_person)
    assert photo.size == (512, 600)
    assert detect_faces(photo, threshold=0.5, min_face_size=1) == []


def test_no_face_on_landscape_photographs(renpy_images):
    for name in ("bg washington.jpg", "bg whitehouse.jpg", "bg cave.jpg"):
        assert detect_faces(load_picture(renpy_images / name), threshold=0.95, min_face_size=1) == [], name


# ---- reading pictures: bad files are skipped with a reason, every mode loads ---------------------

BAD_FILES = {
    "zero-byte": (lambda: b"", "empty file (0 bytes)"),
    "truncated JPEG": (lambda: encoded(noise((128, 128)), "JPEG", quality=90)[:3000], "truncated or corrupt"),
    "truncated PNG": (lambda: encoded(noise((128, 128)), "PNG")[:20000], "truncated or corrupt"),
    "text named .png": (lambda: b"this is a text file, not a picture\n", "not a picture"),
    "bomb (error)": (lambda: png_with_size(30_000, 30_000), "decompression bomb"),
    "bomb (warning)": (lambda: png_with_size(10_000, 10_000), "decompression bomb"),
    "1x1": (lambda: encoded(Image.new("RGB", (1, 1), "red"), "PNG"), "too small (1x1; need at least 32 px on each side)"),
    "too small": (lambda: encoded(Image.new("RGB", (200, 20), "red"), "PNG"), "too small (200x20;"),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_bad_file_is_skipped_with_its_reason(kind, tmp_path):
    make, reason = BAD_FILES[kind]
    path = tmp_path / "bad.png"
    path.write_bytes(make())
    with pytest.raises(PictureError) as err:
        load_picture(path, min_side=32)
    assert err.value.reason.startswith(reason), err.value.reason
    assert str(err.value).startswith(f"{path}: ")
    assert isinstance(err.value, DataError)


def test_bomb_limit_is_a_parameter(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(encoded(Image.new("RGB", (100, 100)), "PNG"))
    assert load_picture(path).size == (100, 100)
    with pytest.raises(PictureError, match=r"100x100 = 10,000 pixels, above the limit of 9,999"):
        load_picture(path, max_pixels=9_999)


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 40), c) for c in ((250, 0, 0), (0, 0, 250), (0, 250, 0))]
    return encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _rgba() -> bytes:
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))  # fully transparent black ...
    img.paste((10, 200, 10, 255), (20, 0, 40, 40))   # ... beside opaque green
    return encoded(img, "PNG")


def _palette_with_transparency() -> bytes:
    img = Image.new("P", (40, 40), 0)
    img.putpalette([0, 0, 0, 10, 200, 10] + [0] * 762)
    img.paste(1, (20, 0, 40, 40))
    return encoded(img, "PNG", transparency=0)


def _gray16() -> bytes:
    values = np.zeros((40, 40), dtype=np.uint16)
    values[:, 10:20], values[:, 20:30], values[:, 30:] = 257 * 128, 65535, 257 * 10
    return encoded(Image.fromarray(values), "PNG")


GOOD_FILES = {
    # name: (bytes, expected RGB at (x=5, y=5), expected RGB at (x=35, y=5))
    "grayscale PNG": (lambda: encoded(Image.new("L", (40, 40), 90), "PNG"), (90, 90, 90), (90, 90, 90)),
    "palette PNG, transparent index": (_palette_with_transparency, (255, 255, 255), (10, 200, 10)),
    "RGBA PNG": (_rgba, (255, 255, 255), (10, 200, 10)),
    "16-bit gray PNG": (_gray16, (0, 0, 0), (10, 10, 10)),
    "CMYK JPEG": (lambda: encoded(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG", quality=95),
                  (255, 0, 0), (255, 0, 0)),
    "animated GIF": (_animated_gif, (250, 0, 0), (250, 0, 0)),
    "WebP": (lambda: encoded(Image.new("RGB", (40, 40), (30, 60, 200)), "WEBP", lossless=True), (30, 60, 200), (30, 60, 200)),
    "BMP": (lambda: encoded(Image.new("RGB", (40, 40), (30, 60, 200)), "BMP"), (30, 60, 200), (30, 60, 200)),
    "1-bit PNG": (lambda: encoded(Image.new("1", (40, 40), 1), "PNG"), (255, 255, 255), (255, 255, 255)),
    "gray+alpha PNG": (lambda: encoded(Image.new("LA", (40, 40), (0, 0)), "PNG"), (255, 255, 255), (255, 255, 255)),
}


@pytest.mark.parametrize("kind", GOOD_FILES)
def test_every_picture_mode_loads_as_rgb(kind, tmp_path):
    make, left, right = GOOD_FILES[kind]
    path = tmp_path / "picture.bin"  # the format comes from the content, not the name
    path.write_bytes(make())
    img = load_picture(path, min_side=32)
    assert img.mode == "RGB" and img.size == (40, 40)
    tolerance = 6 if "JPEG" in kind else 0
    for xy, expected in (((5, 5), left), ((35, 5), right)):
        assert np.abs(np.subtract(img.getpixel(xy), expected)).max() <= tolerance, (kind, xy, img.getpixel(xy))


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    path = tmp_path / "g16.png"
    path.write_bytes(_gray16())
    assert Image.open(path).mode.startswith("I")
    row = np.asarray(load_picture(path))[0, :, 0]
    assert row[[0, 15, 25, 35]].tolist() == [0, 128, 255, 10]


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (60, 30), (220, 20, 20))
    img.paste((20, 20, 220), (30, 0, 60, 30))  # left half red, right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    path.write_bytes(encoded(img, "JPEG", quality=95, exif=exif.tobytes()))
    assert Image.open(path).size == (60, 30)
    upright = load_picture(path)
    assert upright.size == (30, 60)
    top, bottom = np.asarray(upright)[5, 15], np.asarray(upright)[55, 15]
    assert top[0] > 180 > top[2] and bottom[2] > 180 > bottom[0], (top, bottom)


def test_missing_file_is_a_picture_error(tmp_path):
    with pytest.raises(PictureError, match="file not found"):
        load_picture(tmp_path / "nowhere.png")


# ---- box geometry ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "box, margin, picture, expected",
    [
        ((100, 100, 40, 40), 0.0, (400, 400), (100, 100, 140, 140)),   # unchanged
        ((100, 100, 40, 40), 0.25, (400, 400), (90, 90, 150, 150)),    # 10 px (a quarter of 40) on every side
        ((100, 100, 40, 20), 0.0, (400, 400), (100, 90, 140, 130)),    # square of the longer side, same centre
        ((100, 100, 20, 40), 0.5, (400, 400), (70, 80, 150, 160)),     # margin, then square: side 80
        ((0, 100, 40, 40), 0.5, (400, 400), (0, 80, 80, 160)),         # past the left edge: shifted right
        ((100, 2, 40, 40), 0.5, (400, 400), (80, 0, 160, 80)),         # past the top: shifted down
        ((280, 100, 20, 20), 1.0, (300, 400), (240, 80, 300, 140)),    # past the right edge: shifted left
        ((100, 290, 10, 10), 1.0, (400, 300), (90, 270, 120, 300)),    # past the bottom: shifted up
        ((10, 5, 80, 50), 0.25, (100, 60), (20, 0, 80, 60)),           # larger than the picture: its short side
        ((0, 0, 500, 500), 0.0, (300, 200), (100, 0, 300, 200)),       # larger, centre off the picture: shifted in
    ],
)
def test_square_box(box, margin, picture, expected):
    assert square_box(box, margin, picture) == expected


def test_square_box_is_always_an_integer_square_inside_the_picture():
    rng = np.random.default_rng(0)
    for _ in range(500):
        pic = tuple(int(v) for v in rng.integers(1, 400, 2))
        box = (rng.uniform(-50, pic[0]), rng.uniform(-50, pic[1]), rng.uniform(1, 300), rng.uniform(1, 300))
        left, top, right, bottom = out = square_box(box, float(rng.uniform(0, 1)), pic)
        assert all(isinstance(v, int) for v in out)
        assert right - left == bottom - top >= 1
        assert 0 <= left and 0 <= top and right <= pic[0] and bottom <= pic[1], (pic, box, out)


def test_centre_box():
    assert centre_box((100, 60)) == (20, 0, 80, 60)
    assert centre_box((61, 100)) == (0, 19, 61, 80)


# ---- extract_faces -----------------------------------------------------------------------------------

def test_detect_false_centre_crops_and_resizes(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    img = Image.new("RGB", (100, 60), (255, 0, 0))
    img.paste((0, 255, 0), (20, 0, 80, 60))  # the centre square is green, the sides red
    img.save(raw / "wide.png")
    Image.new("RGB", (40, 90), (0, 0, 255)).save(raw / "tall.png")
    faces, manifest = extract_faces(raw, dataclasses.replace(CFG, detect=False, image_size=16))
    assert faces.shape == (2, 16, 16, 3)
    assert (faces[0] == (0, 0, 255)).all()  # tall.png sorts first
    assert (faces[1] == (0, 255, 0)).all(), "the red sides are cropped away"
    assert [p["faces"] for p in manifest["pictures"]] == [[{"crop": [0, 25, 40, 65], "index": 0}],
                                                          [{"crop": [20, 0, 80, 60], "index": 1}]]


def test_identical_crops_are_kept_once(tmp_path, demo_scenes):
    raw = tmp_path / "raw"
    (raw / "copy").mkdir(parents=True)
    shutil.copy(demo_scenes[0], raw / "a.png")
    shutil.copy(demo_scenes[0], raw / "copy" / "a.png")
    shutil.copy(demo_scenes[1], raw / "z.png")
    faces, manifest = extract_faces(raw, CFG)
    assert len(faces) == 2
    assert len({f.tobytes() for f in faces}) == 2
    first, copy, _ = manifest["pictures"]
    assert (first["path"], copy["path"]) == ("a.png", "copy/a.png")
    assert first["faces"][0]["index"] == 0
    kept = {k: v for k, v in first["faces"][0].items() if k != "index"}
    assert set(kept) == {"crop", "detected", "likelihood"} and kept["likelihood"] >= 0.95
    assert copy["faces"] == [{**kept, "duplicate_of": 0}]
    assert manifest["counts"]["duplicates_dropped"] == 1 and manifest["counts"]["faces"] == 2


def test_bad_files_never_stop_the_folder(tmp_path, demo_scenes):
    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    shutil.copy(demo_scenes[2], raw / "sub" / "scene.png")
    for i, (kind, (make, _)) in enumerate(BAD_FILES.items()):
        (raw / f"bad{i}.png").write_bytes(make())
    (raw / ".hidden.png").write_bytes(b"ignored")
    (raw / "notes.txt").write_text("not a picture")
    faces, manifest = extract_faces(raw, CFG)
    assert len(faces) == 1
    pictures = {p["path"]: p for p in manifest["pictures"]}
    assert ".hidden.png" not in pictures
    assert list(pictures) == sorted(pictures) and list(pictures)[-1] == "sub/scene.png"
    for i, (kind, (_, reason)) in enumerate(BAD_FILES.items()):
        assert reason in pictures[f"bad{i}.png"]["skipped"], kind
    assert pictures["notes.txt"]["skipped"].startswith("not a picture")
    counts = manifest["counts"]
    assert counts["pictures"] == len(BAD_FILES) + 2 and counts["pictures_skipped"] == len(BAD_FILES) + 1
    assert counts["pictures_with_faces"] == 1 and counts["detection_rate"] == 1.0


def test_no_face_at_all_is_an_error_naming_the_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match=f"{empty}: no pictures"):
        extract_faces(empty, CFG)
    Image.new("RGB", (100, 100), "gray").save(empty / "plain.png")
    with pytest.raises(DataError, match=f"{empty}: no face in 1 file"):
        extract_faces(empty, CFG)
    with pytest.raises(DataError, match="picture folder not found"):
        extract_faces(tmp_path / "nowhere", CFG)


# ---- faces.bin -------------------------------------------------------------------------------------

def test_faces_bin_round_trip_and_layout(tmp_path):
    faces = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    manifest = write_faces(tmp_path / "anime", faces, {"count": 5})
    path = tmp_path / "anime" / "faces.bin"
    raw = path.read_bytes()
    assert len(raw) == 5 * 8 * 8 * 3
    # headerless, row-major HWC: byte ((i*S + r)*S + c)*3 + ch is channel ch of pixel (r, c) of face i
    assert raw[((3 * 8 + 2) * 8 + 5) * 3 + 1] == faces[3, 2, 5, 1]
    np.testing.assert_array_equal(read_faces_bin(path, 8), faces)
    np.testing.assert_array_equal(np.fromfile(path, np.uint8).reshape(-1, 8, 8, 3), faces)
    mm = read_faces_bin(path, 8, mmap=True)
    assert isinstance(mm, np.memmap) and mm.shape == (5, 8, 8, 3)
    on_disk = json.loads((tmp_path / "anime" / "manifest.json").read_text())
    assert on_disk == manifest and manifest["files"]["faces.bin"]["count"] == 5
    import hashlib

    assert manifest["files"]["faces.bin"]["sha256"] == hashlib.sha256(raw).hexdigest()
    assert sorted(os.listdir(tmp_path)) == ["anime"], "no temporary folders left behind"


def test_read_faces_bin_takes_the_size_from_the_manifest(tmp_path):
    faces = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    write_faces(tmp_path / "anime", faces, {"image_shape": [16, 16, 3]})
    np.testing.assert_array_equal(read_faces_bin(tmp_path / "anime" / "faces.bin"), faces)
    (tmp_path / "anime" / "manifest.json").write_text('{"image_shape": [16, 8, 3]}')
    with pytest.raises(DataError, match=r"manifest.json: image_shape must be \[S, S, 3\], got \[16, 8, 3\]"):
        read_faces_bin(tmp_path / "anime" / "faces.bin")
    (tmp_path / "anime" / "manifest.json").unlink()
    with pytest.raises(DataError, match="manifest.json: not found; it records the size of the faces beside it"):
        read_faces_bin(tmp_path / "anime" / "faces.bin")


def test_read_faces_bin_errors(tmp_path):
    with pytest.raises(DataError, match="file not found .run its prepare_pictures stage first"):
        read_faces_bin(tmp_path / "faces.bin", 64)
    (tmp_path / "faces.bin").write_bytes(b"")
    with pytest.raises(DataError, match="file is empty, expected 12288 bytes per face"):
        read_faces_bin(tmp_path / "faces.bin", 64)
    (tmp_path / "faces.bin").write_bytes(b"\0" * 12289)
    with pytest.raises(DataError, match="size 12289 bytes is not a multiple of 12288 .one 64x64x3 face."):
        read_faces_bin(tmp_path / "faces.bin", 64)


def test_write_faces_rejects_wrong_arrays(tmp_path):
    with pytest.raises(DataError, match="uint8 of shape .N, S, S, 3."):
        write_faces(tmp_path / "a", np.zeros((2, 8, 8, 1), np.uint8), {})
    assert not (tmp_path / "a").exists()


# ---- the demo pictures -------------------------------------------------------------------------------

def test_demo_is_deterministic(tmp_path, demo_scenes):
    again = anime_demo.make_demo(tmp_path / "again", 4, seed=3)  # fewer scenes: the first ones do not change
    assert [p.name for p in again] == ["scene_00000.png", "scene_00001.png", "scene_00002.png", "scene_00003.png"]
    for a, b in zip(demo_scenes, again):
        assert a.read_bytes() == b.read_bytes()
    other = anime_demo.make_demo(tmp_path / "other", 1, seed=4)
    assert other[0].read_bytes() != demo_scenes[0].read_bytes()
    data = demo_scenes[0].read_bytes()
    assert b"tIME" not in data and b"tEXt" not in data and b"iTXt" not in data
    with Image.open(demo_scenes[0]) as img:
        assert img.mode == "RGB" and 224 <= min(img.size) and max(img.size) <= 320


def test_animeface_detects_most_demo_scenes():
    """Measured: 97-98% of scenes give a face at 0.95 (1,176 of 1,200 scenes; the default draws 600); the floor leaves room."""
    scenes = 40
    hits = sum(bool(detect_faces(anime_demo.draw_scene(anime_demo.scene_rng(11, i)), threshold=0.95, min_face_size=32))
               for i in range(scenes))
    assert hits / scenes >= 0.85, f"only {hits} of {scenes} demo scenes have a face at likelihood >= 0.95"


def test_make_demo_replaces_folder_only_when_complete(tmp_path, monkeypatch):
    out = tmp_path / "raw"
    anime_demo.make_demo(out, 2, seed=0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []

    def failing(rng, size=None):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return Image.new("RGB", (8, 8))

    monkeypatch.setattr(anime_demo, "draw_scene", failing)
    with pytest.raises(KeyboardInterrupt):
        anime_demo.make_demo(out, 3, seed=1)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(os.listdir(tmp_path)) == ["raw"]


# ---- config and stages ----------------------------------------------------------------------------------

def test_params_sections_load():
    demo = load_section(REPO / "params.yaml", "make_anime_demo", AnimeDemoConfig)
    prep = load_section(REPO / "params.yaml", "prepare_pictures.anime", PreparePicturesConfig)
    assert demo.count >= 1 and prep.raw_dir == "data/raw/anime_demo" and prep.image_size == 64


@pytest.mark.parametrize(
    "text, message",
    [
        ("a:\n  raw_dir: r\n  detect: yes-please\n  threshold: 0.9\n  margin: 0\n  image_size: 64\n  min_face_size: 8\n",
         "prepare_pictures.a.detect: expected true or false, got 'yes-please'"),
        ("a:\n  raw_dir: r\n  detect: true\n  treshold: 0.9\n  margin: 0\n  image_size: 64\n  min_face_size: 8\n",
         "prepare_pictures.a.treshold: unknown key (did you mean 'threshold'?)"),
        ("a:\n  raw_dir: r\n  detect: true\n  threshold: 1.5\n  margin: 0\n  image_size: 64\n  min_face_size: 8\n",
         "prepare_pictures.a.threshold: must be <= 1.0, got 1.5"),
        ("a:\n  raw_dir: r\n  detect: true\n  threshold: 0.9\n  margin: 0\n  image_size: 48\n  min_face_size: 8\n",
         "prepare_pictures.a.image_size: unknown value 48 (valid: 32, 64)"),
    ],
)
def test_prepare_pictures_params_are_checked(tmp_path, text, message):
    text = "prepare_pictures:\n" + "".join(f"  {line}\n" for line in text.splitlines())
    params = write_params(tmp_path / "params.yaml", text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_section(params, "prepare_pictures.a", PreparePicturesConfig)


PARAMS = """\
make_anime_demo:
  count: {count}
  seed: 0
prepare_pictures:
  anime:
    raw_dir: {raw}
    detect: true
    threshold: 0.95
    margin: 0.15
    image_size: 32
    min_face_size: 32
"""


def stage_args(params, tmp_path):
    return ["anime", "--params", str(params), "--out", str(tmp_path / "anime"),
            "--preview", str(tmp_path / "rep" / "preview.png"), "--metrics", str(tmp_path / "rep" / "faces.json")]


def test_stages_write_demo_faces_preview_and_counts(tmp_path, capsys):
    raw = tmp_path / "raw"
    params = write_params(tmp_path / "params.yaml", PARAMS.format(count=5, raw=raw))
    assert make_anime_demo.main(["--params", str(params), "--out", str(raw)]) == 0
    assert sorted(p.name for p in raw.iterdir()) == [f"scene_0000{i}.png" for i in range(5)]
    assert prepare_pictures.main(stage_args(params, tmp_path)) == 0
    out = capsys.readouterr().out
    assert "make_anime_demo: 5 scenes (seed 0)" in out and "prepare_pictures anime: " in out
    assert sorted(p.name for p in (tmp_path / "anime").iterdir()) == ["faces.bin", "manifest.json"]
    counts = json.loads((tmp_path / "rep" / "faces.json").read_text())
    assert counts["pictures"] == 5 and counts["faces"] >= 3
    assert set(counts) == {"pictures", "pictures_with_faces", "pictures_without_faces", "pictures_skipped",
                           "faces", "duplicates_dropped", "detection_rate"}
    faces = read_faces_bin(tmp_path / "anime" / "faces.bin", 32)
    assert len(faces) == counts["faces"]
    with Image.open(tmp_path / "rep" / "preview.png") as preview:
        assert preview.size == (640, 480)


def test_empty_folder_fails_in_one_line_and_keeps_good_output(tmp_path, capsys, demo_scenes):
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(demo_scenes[0], good / "scene.png")
    params = write_params(tmp_path / "params.yaml", PARAMS.format(count=1, raw=good))
    assert prepare_pictures.main(stage_args(params, tmp_path)) == 0
    outputs = [*(tmp_path / "anime").iterdir(), *(tmp_path / "rep").iterdir()]
    before = {p: p.read_bytes() for p in outputs}
    capsys.readouterr()

    empty = tmp_path / "empty"
    empty.mkdir()
    params = write_params(tmp_path / "params.yaml", PARAMS.format(count=1, raw=empty))
    assert prepare_pictures.main(stage_args(params, tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"ganpipe: error: {empty}: no pictures")
    assert {p: p.read_bytes() for p in [*(tmp_path / "anime").iterdir(), *(tmp_path / "rep").iterdir()]} == before
    assert sorted(os.listdir(tmp_path)) == ["anime", "empty", "good", "params.yaml", "rep"], "no temporary leftovers"


def test_prepare_pictures_runs_as_module_with_one_line_error(tmp_path):
    """What DVC sees: exit status 2 and one line on stderr, no output folder."""
    empty = tmp_path / "empty"
    empty.mkdir()
    params = write_params(tmp_path / "params.yaml", PARAMS.format(count=1, raw=empty))
    proc = subprocess.run([sys.executable, "-m", "ganpipe.stages.prepare_pictures", *stage_args(params, tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"ganpipe: error: {empty}: no pictures (detect: true, threshold: 0.95); "
                                   "expected pictures with anime faces")
    assert not (tmp_path / "anime").exists() and not (tmp_path / "rep").exists()
