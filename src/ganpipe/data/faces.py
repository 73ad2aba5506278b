"""Pictures -> square crops: read any picture, find anime faces (or take its centre), crop, resize, drop duplicates.

``extract_faces`` walks a folder of pictures (any depth, sorted by relative path) and returns
uint8 faces of shape (N, S, S, 3) with a manifest that says, for every file, which faces came out
of it (box and likelihood) or why it was skipped. A bad file is skipped with its reason, never
fatal; only a folder that yields no face at all is an error.

Faces are found with ``animeface`` (nvxs, https://github.com/nya3jp/python-animeface). It needs
Pillow < 12: with Pillow 12 it silently finds nothing, which is why constraints.txt pins Pillow
and a test runs it on real anime art.

``write_faces`` stores them as ``faces.bin`` (headerless uint8, N x S x S x 3, row-major HWC, RGB)
beside ``manifest.json``, so ``np.fromfile(path, np.uint8).reshape(-1, S, S, 3)`` reads them back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError
from ..fileio import atomic_dir, write_array, write_json_atomic
from ..parallel import ordered_map

if TYPE_CHECKING:
    from ..config import PreparePicturesConfig

FACES_FILE = "faces.bin"
MANIFEST_FILE = "manifest.json"


class PictureError(DataError):
    """One picture cannot be used; ``reason`` says why (the message adds the path)."""

    def __init__(self, path: str | os.PathLike, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


# ---- reading pictures ----------------------------------------------------------------------------

def load_picture(path: str | os.PathLike, *, min_side: int = 1, max_pixels: int | None = None) -> Image.Image:
    """Read any picture Pillow knows (JPEG, PNG, WebP, GIF, BMP, ...) as an upright RGB image.

    EXIF orientation is applied; transparency is composited on white; palette, grayscale, CMYK
    and 16-bit pictures are converted to 8-bit RGB; an animated picture gives its first frame.
    Raises :class:`PictureError` for a missing, empty, truncated or unreadable file, a picture of
    more than ``max_pixels`` pixels (a decompression bomb; Pillow's ``Image.MAX_IMAGE_PIXELS`` by
    default, and never above it), or one whose short side is below ``min_side`` pixels.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PictureError(path, "file not found") from None
    except OSError as exc:
        raise PictureError(path, f"cannot read ({exc.strerror})") from None
    if size == 0:
        raise PictureError(path, "empty file (0 bytes)")
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; both are bombs here
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if limit and im.width * im.height > limit:
                    raise PictureError(path, _bomb_reason(im.width, im.height, limit))
                im.seek(0)
                im.load()
                picture = ImageOps.exif_transpose(im)
    except PictureError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PictureError(path, f"decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise PictureError(path, "not a picture (Pillow cannot identify the format)") from None
    except OSError as exc:
        if exc.errno is not None:  # the system's error (permissions, ...), not Pillow's "truncated"
            raise PictureError(path, f"cannot read ({exc.strerror})") from None
        raise PictureError(path, f"truncated or corrupt picture data ({exc})") from None
    except (SyntaxError, ValueError, EOFError, struct.error, zlib.error) as exc:
        raise PictureError(path, f"truncated or corrupt picture data ({exc})") from None
    except Exception as exc:  # Pillow's decoders raise many kinds; one odd file must not stop a folder
        raise PictureError(path, f"unreadable picture ({type(exc).__name__}: {exc})") from None
    if min(picture.size) < min_side:
        raise PictureError(path, f"too small ({picture.width}x{picture.height}; need at least {min_side} px on each side)")
    try:
        return to_rgb(picture)
    except ValueError as exc:
        raise PictureError(path, f"cannot convert colour mode {picture.mode} to RGB ({exc})") from None


def _bomb_reason(width: int, height: int, limit: int) -> str:
    return f"decompression bomb ({width}x{height} = {width * height:,} pixels, above the limit of {limit:,})"


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB. Alpha is composited on white; 16/32-bit gray is scaled from 0..65535."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        gray = np.asarray(img, dtype=np.float64)
        return Image.fromarray(np.clip(np.rint(gray / 257.0), 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode == "F":
        gray = np.asarray(img, dtype=np.float64)
        scale = 255.0 if np.nanmax(gray, initial=0.0) <= 1.0 else 1.0  # floats in 0..1 or in 0..255
        gray = np.nan_to_num(gray * scale)
        return Image.fromarray(np.clip(np.rint(gray), 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "P", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def list_pictures(folder: str | os.PathLike) -> list[Path]:
    """Every file under ``folder`` (any depth), sorted by relative path; hidden files and folders left out."""
    folder = Path(folder)
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(root, name).relative_to(folder) for name in files if not name.startswith(".")]
    return sorted(found, key=lambda p: p.as_posix())


# ---- boxes and crops -----------------------------------------------------------------------------

def square_box(box: tuple[float, float, float, float], margin: float,
               picture_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Face box (x, y, width, height) -> square crop box (left, top, right, bottom) inside the picture.

    The box grows by ``margin`` times its width (height) on the left and right (top and bottom),
    then becomes a square around the same centre whose side is the larger of the grown sides. A square reaching
    past an edge is shifted back inside; one larger than the picture shrinks to the picture's
    short side. All coordinates are integers with right - left == bottom - top.
    """
    x, y, w, h = box
    pic_w, pic_h = picture_size
    side = max(w, h) * (1 + 2 * margin)
    side = min(max(1, math.floor(side + 0.5)), pic_w, pic_h)
    centre_x, centre_y = x + w / 2, y + h / 2
    left = min(max(0, math.floor(centre_x - side / 2 + 0.5)), pic_w - side)
    top = min(max(0, math.floor(centre_y - side / 2 + 0.5)), pic_h - side)
    return left, top, left + side, top + side


def centre_box(picture_size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The largest centred square of a picture, as (left, top, right, bottom)."""
    pic_w, pic_h = picture_size
    side = min(pic_w, pic_h)
    left, top = (pic_w - side) // 2, (pic_h - side) // 2
    return left, top, left + side, top + side


def crop_face(img: Image.Image, box: tuple[int, int, int, int], image_size: int) -> np.ndarray:
    """Crop ``box`` out of an RGB picture and resize it (Lanczos) -> uint8 (image_size, image_size, 3)."""
    face = img.crop(box).resize((image_size, image_size), Image.LANCZOS, reducing_gap=3.0)
    return np.asarray(face, dtype=np.uint8)


def detect_faces(img: Image.Image, *, threshold: float, min_face_size: int) -> list[tuple[tuple[int, int, int, int], float]]:
    """animeface on an RGB picture -> [((x, y, width, height), likelihood)] at ``threshold`` or above.

    Faces narrower or lower than ``min_face_size`` pixels are left out; the rest come ordered by
    position (top to bottom, then left to right).
    """
    import animeface

    found = []
    for face in animeface.detect(img):
        pos = face.face.pos
        if face.likelihood >= threshold and min(pos.width, pos.height) >= min_face_size:
            found.append(((int(pos.x), int(pos.y), int(pos.width), int(pos.height)), float(face.likelihood)))
    return sorted(found, key=lambda item: (item[0][1], item[0][0]))


# animeface misses faces that fill the whole picture: measured on 100 real 64x64 crops, it found 71
# as they are and all 100 when each crop is doubled in size and given a 32-pixel white border
DETECT_UPSCALE = 2
DETECT_BORDER = 32


def crop_holds_face(job: tuple[np.ndarray, float]) -> bool:
    """Whether animeface finds a face at ``threshold`` or above in a face crop (uint8 (S, S, 3)), shown to it
    doubled in size on a white border; ``job`` is (crop, threshold), one item of a parallel map."""
    crop, threshold = job
    side = crop.shape[0] * DETECT_UPSCALE
    picture = Image.fromarray(crop).resize((side, side), Image.LANCZOS)
    picture = ImageOps.expand(picture, DETECT_BORDER, fill=(255, 255, 255))
    return bool(detect_faces(picture, threshold=threshold, min_face_size=0))


# ---- a folder of pictures -> faces + manifest ------------------------------------------------------

def extract_faces(raw_dir: str | os.PathLike, cfg: PreparePicturesConfig) -> tuple[np.ndarray, dict]:
    """Faces of every picture under ``raw_dir`` -> (uint8 (N, S, S, 3), manifest); S = ``cfg.image_size``.

    With ``cfg.detect`` each picture gives one crop per face that animeface finds at
    ``cfg.threshold`` or above (box widened by ``cfg.margin``, made square, kept inside the
    picture); without it each picture gives its centre square (for collections of cropped faces).
    A crop identical to an earlier one is dropped. The manifest lists, per picture in sorted
    order, its faces or why it was skipped; a face has its ``index`` in the array (or
    ``duplicate_of``), its ``crop`` box (left, top, right, bottom) and, when detected, the
    detector's box ``detected`` (x, y, width, height) and ``likelihood``.
    Raises DataError naming ``raw_dir`` if the folder is missing or gives no face at all.
    Pictures are read and searched by worker processes (:mod:`ganpipe.parallel`): the result is the
    same with any number of them.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(f"{raw_dir}: picture folder not found (set prepare_pictures.<set>.raw_dir, or run make_anime_demo)")
    faces: list[np.ndarray] = []
    seen: dict[bytes, int] = {}
    pictures = []
    counts = dict.fromkeys(("pictures", "pictures_with_faces", "pictures_without_faces", "pictures_skipped",
                            "faces", "duplicates_dropped"), 0)
    rels = list_pictures(raw_dir)
    jobs = [(raw_dir / rel, cfg) for rel in rels]
    found_in = ordered_map(_faces_in_picture, jobs, desc="finding faces" if cfg.detect else "cropping", unit="picture")
    for rel, result in zip(rels, found_in):
        counts["pictures"] += 1
        entry: dict = {"path": rel.as_posix()}
        pictures.append(entry)
        if "skipped" in result:
            entry["skipped"] = result["skipped"]
            counts["pictures_skipped"] += 1
            continue
        entry["size"] = result["size"]
        found = result["faces"]
        entry["faces"] = []
        for detected, likelihood, box, crop in found:
            face: dict = {"crop": list(box)}
            if detected is not None:
                face["detected"], face["likelihood"] = list(detected), round(likelihood, 4)
            key = hashlib.sha256(crop.tobytes()).digest()
            if key in seen:
                face["duplicate_of"] = seen[key]
                counts["duplicates_dropped"] += 1
            else:
                face["index"] = seen[key] = len(faces)
                faces.append(crop)
            entry["faces"].append(face)
        if not found:
            entry["skipped"] = f"no face at likelihood >= {cfg.threshold}"
            counts["pictures_without_faces"] += 1
        else:
            counts["pictures_with_faces"] += 1
    if not faces:
        raise DataError(_nothing_found(raw_dir, len(pictures), cfg))
    counts["faces"] = len(faces)
    readable = counts["pictures"] - counts["pictures_skipped"]
    counts["detection_rate"] = round(counts["pictures_with_faces"] / readable, 4) if readable else 0.0
    manifest = {
        "format": "headerless uint8, N x S x S x 3 (row-major HWC, RGB)",
        "source": str(raw_dir),
        "image_shape": [cfg.image_size, cfg.image_size, 3],
        "count": len(faces),
        "settings": dataclasses.asdict(cfg),
        "counts": counts,
        "pictures": pictures,
    }
    return np.stack(faces), manifest


def _nothing_found(raw_dir: Path, files: int, cfg: PreparePicturesConfig) -> str:
    """Why a folder gave no crop at all, in one line naming it."""
    if not cfg.detect:
        what = "no pictures" if not files else f"no readable picture in {files} file(s)"
        return f"{raw_dir}: {what} (detect: false); expected pictures of at least {cfg.min_face_size} px a side"
    what = "no pictures" if not files else f"no face in {files} file(s)"
    return f"{raw_dir}: {what} (detect: true, threshold: {cfg.threshold}); expected pictures with anime faces"


def _faces_in_picture(job: tuple[Path, PreparePicturesConfig]) -> dict:
    """One picture's part of :func:`extract_faces` (in any process): ``{"skipped": reason}``, or its
    ``size`` and ``faces``, a list of (detected box or None, likelihood or None, crop box, crop)."""
    path, cfg = job
    try:
        img = load_picture(path, min_side=cfg.min_face_size)
    except PictureError as exc:
        return {"skipped": exc.reason}
    if cfg.detect:
        found = detect_faces(img, threshold=cfg.threshold, min_face_size=cfg.min_face_size)
    else:
        found = [(None, None)]
    faces = []
    for detected, likelihood in found:
        box = centre_box(img.size) if detected is None else square_box(detected, cfg.margin, img.size)
        faces.append((detected, likelihood, box, crop_face(img, box, cfg.image_size)))
    return {"size": [img.width, img.height], "faces": faces}


# ---- faces.bin -----------------------------------------------------------------------------------

def write_faces(out_dir: str | os.PathLike, faces: np.ndarray, manifest: dict) -> dict:
    """Write ``faces.bin`` and ``manifest.json`` into ``out_dir`` as one unit; return the manifest.

    ``faces`` is uint8 (N, S, S, 3). The returned manifest adds the image shape (read back by
    :func:`read_faces_bin`) and the file's size and sha256.
    """
    if faces.dtype != np.uint8 or faces.ndim != 4 or faces.shape[3] != 3 or faces.shape[1] != faces.shape[2]:
        raise DataError(f"faces must be uint8 of shape (N, S, S, 3), got {faces.dtype} {faces.shape}")
    with atomic_dir(out_dir) as tmp:
        record = write_array(tmp / FACES_FILE, faces)
        manifest = {"kind": "pictures", **manifest, "image_shape": list(faces.shape[1:]), "files": {FACES_FILE: record}}
        write_json_atomic(tmp / MANIFEST_FILE, manifest)
    return manifest


def read_faces_bin(path: str | os.PathLike, image_size: int | None = None, *, mmap: bool = False) -> np.ndarray:
    """Read a headerless faces .bin as uint8 (N, S, S, 3); memory-mapped if ``mmap``.

    S is ``image_size``, or by default the size recorded in the ``manifest.json`` beside the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DataError(f"{path}: file not found (run its prepare_pictures stage first?)") from None
    if image_size is None:
        image_size = manifest_image_size(path.parent / MANIFEST_FILE)
    face_bytes = image_size * image_size * 3
    if size == 0:
        raise DataError(f"{path}: file is empty, expected {face_bytes} bytes per face")
    if size % face_bytes:
        raise DataError(f"{path}: size {size} bytes is not a multiple of {face_bytes} "
                        f"(one {image_size}x{image_size}x3 face)")
    flat = np.memmap(path, dtype=np.uint8, mode="r") if mmap else np.fromfile(path, dtype=np.uint8)
    return flat.reshape(-1, image_size, image_size, 3)


def manifest_image_size(path: str | os.PathLike) -> int:
    """The face side S recorded as ``image_shape: [S, S, 3]`` in a faces manifest."""
    path = Path(path)
    try:
        shape = json.loads(path.read_text(encoding="utf-8"))["image_shape"]
    except FileNotFoundError:
        raise DataError(f"{path}: not found; it records the size of the faces beside it (run prepare_pictures)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a faces manifest with 'image_shape' ({type(exc).__name__}: {exc})") from None
    if not (isinstance(shape, list) and len(shape) == 3 and shape[0] == shape[1] and shape[2] == 3
            and isinstance(shape[0], int) and shape[0] > 0):
        raise DataError(f"{path}: image_shape must be [S, S, 3], got {shape!r}")
    return shape[0]


def holds_detected_faces(folder: str | os.PathLike) -> bool:
    """Whether a prepared picture folder holds anime faces that animeface found (prepared with
    ``detect: true``, as its manifest's ``settings`` record), rather than the centre squares of any
    pictures: only then does counting the faces animeface finds in generated pictures mean anything."""
    from .manifest import read_manifest

    manifest = read_manifest(folder, "prepare_pictures")
    settings = manifest.get("settings") if isinstance(manifest, dict) else None
    return isinstance(settings, dict) and settings.get("detect") is True
