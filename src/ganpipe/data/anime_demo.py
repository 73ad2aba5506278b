"""Offline demo pictures: seeded, procedurally drawn anime-style characters that animeface detects.

No collection of anime pictures can be downloaded where ganpipe is built and tested, so the
``make_anime_demo`` stage draws one. Each scene is one character — face with a pointed chin,
large eyes (iris, pupil, highlights, lashes), a fringe over back hair, nose, mouth, neck and
shoulders — at a random position and scale over a gradient background with a few shapes. Skin,
hair, eye and clothing colours, eye size, hair length and the scene size vary from scene to scene.

The pictures stand in for a real collection in ``prepare_anime``: they are drawn so that
``animeface.detect`` finds the face at high likelihood in most scenes (the rest are skipped like
any picture without a face): about 98 % of scenes give a face at likelihood 0.95. Scene ``i``
of seed ``s`` depends on ``(s, i)`` only, and the PNG files carry no timestamp, so the same seed
gives byte-identical files whatever the count (with the pinned Pillow, whose zlib writes them).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..fileio import atomic_dir
from ..parallel import ordered_map

# scenes are drawn this many times larger and reduced with LANCZOS: smooth, anti-aliased lines
SUPERSAMPLE = 3
TILT_DEG = 12.0

SKIN_TONES = ((255, 232, 214), (253, 224, 200), (250, 214, 190), (244, 206, 178), (236, 192, 160), (222, 176, 142))
HAIR_COLOURS = (
    (40, 32, 38), (70, 44, 30), (120, 72, 40), (168, 110, 60), (236, 206, 120), (222, 96, 80),
    (236, 140, 170), (70, 90, 180), (120, 80, 170), (200, 200, 214), (60, 130, 110), (150, 40, 50),
)
EYE_COLOURS = ((40, 70, 170), (30, 110, 170), (150, 40, 50), (40, 120, 70), (110, 60, 150), (150, 90, 40), (60, 50, 60))
CLOTH_COLOURS = ((40, 50, 90), (230, 230, 236), (150, 40, 60), (60, 100, 70), (90, 70, 120), (200, 150, 60), (50, 50, 55))
LINE = (60, 40, 40)


def scene_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of scene ``index`` of ``seed`` (independent of how many scenes are drawn)."""
    return np.random.default_rng([seed, index])


def draw_scene(rng: np.random.Generator) -> Image.Image:
    """Draw one scene: an RGB picture of a random size, 224..320 px a side.

    The character's face is 0.3-0.54 of the scene's short side wide, placed at random with the
    head inside the picture (shoulders may run off the bottom edge) and tilted by up to
    ``TILT_DEG`` degrees either way.
    """
    width, height = int(rng.integers(224, 321)), int(rng.integers(224, 321))
    k = SUPERSAMPLE
    canvas = _background(rng, width * k, height * k)
    short = min(width, height) * k
    half = float(rng.uniform(0.15, 0.27)) * short  # half the face's width, supersampled pixels
    cx = float(rng.uniform(1.45 * half, width * k - 1.45 * half))
    cy = float(rng.uniform(1.75 * half, height * k - 1.5 * half))
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    _character(ImageDraw.Draw(layer), rng, cx, cy, half)
    tilt = float(rng.uniform(-TILT_DEG, TILT_DEG))
    # nearest-neighbour is 20x faster than bicubic here, and the LANCZOS reduction smooths it anyway
    layer = layer.rotate(tilt, resample=Image.NEAREST, center=(cx, cy))
    canvas = Image.alpha_composite(canvas.convert("RGBA"), layer).convert("RGB")
    return canvas.resize((width, height), Image.LANCZOS)


def _background(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    top, bottom = (rng.integers(90, 256, 3) for _ in range(2))
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    column = ((1 - t) * top[None, None, :] + t * bottom[None, None, :]).round().astype(np.uint8)  # (height, 1, 3)
    # widened by Pillow, which copies the pixels: 15x faster than rounding every pixel, the same bytes
    img = Image.fromarray(column).resize((width, height), Image.NEAREST)
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 7))):
        colour = tuple(int(c) for c in rng.integers(110, 256, 3))
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.25) * min(width, height)
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - 0.6 * r, x + r, y + 0.6 * r), fill=colour)
    return img


def _shade(colour, factor: float) -> tuple[int, int, int]:
    """``factor`` < 1 darkens towards black, > 1 lightens towards white."""
    c = np.asarray(colour, dtype=np.float64)
    out = c * factor if factor <= 1 else c + (255 - c) * (factor - 1)
    return tuple(int(v) for v in np.clip(np.rint(out), 0, 255))


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _bezier(p0, p1, p2, n: int = 12):
    """Points of the quadratic Bezier curve p0 -> p2 pulled towards p1 (p0 excluded)."""
    t = np.linspace(0, 1, n + 1)[1:, None]
    pts = (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * np.asarray(p1) + t**2 * np.asarray(p2)
    return [tuple(p) for p in pts]


def _arc(cx, cy, rx, ry, start_deg, end_deg, n: int = 24):
    angles = np.radians(np.linspace(start_deg, end_deg, n))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _character(draw: ImageDraw.ImageDraw, rng: np.random.Generator, cx: float, cy: float, s: float) -> None:
    """Draw a character whose eye line is centred at (cx, cy) and whose face is 2*s pixels wide."""

    def P(x, y):  # face units -> pixels: x in [-1, 1] across the cheeks, y down, 0 at the eye line
        return (cx + x * s, cy + y * s)

    def poly(points):
        return [P(x, y) for x, y in points]

    skin = _pick(rng, SKIN_TONES)
    hair = _pick(rng, HAIR_COLOURS)
    iris = _pick(rng, EYE_COLOURS)
    cloth = _pick(rng, CLOTH_COLOURS)
    hair_dark, hair_line = _shade(hair, 0.72), _shade(hair, 0.45)
    line_w = max(1, round(0.035 * s))
    style = _pick(rng, ("short", "long", "long", "twintails", "ponytail"))

    # behind the head: tails, then the back hair
    if style == "twintails":
        for side in (-1, 1):
            tail = [(side * 0.9, -1.1)] + _bezier((side * 0.9, -1.1), (side * 2.4, -0.6), (side * 1.9, 2.6))
            tail += _bezier((side * 1.9, 2.6), (side * 1.5, 0.6), (side * 1.0, -0.4))
            draw.polygon(poly(tail), fill=hair, outline=hair_line)
    elif style == "ponytail":
        side = 1 if rng.random() < 0.5 else -1
        tail = [(side * 0.5, -1.35)] + _bezier((side * 0.5, -1.35), (side * 1.9, -1.4), (side * 1.6, 1.9))
        tail += _bezier((side * 1.6, 1.9), (side * 1.35, 0.2), (side * 0.9, -0.9))
        draw.polygon(poly(tail), fill=hair, outline=hair_line)
    bottom = {"short": float(rng.uniform(0.45, 0.9)), "long": float(rng.uniform(1.6, 3.2))}.get(style, 0.2)
    back = _arc(0, -0.35, 1.3, 1.25, 180, 360) + [(1.35, bottom), (1.0, bottom + 0.15), (-1.0, bottom + 0.15), (-1.35, bottom)]
    draw.polygon(poly(back), fill=hair_dark, outline=hair_line)

    _body(draw, rng, poly, skin, cloth, line_w)

    # face: rounded top, cheeks, jaw lines meeting at a pointed chin
    chin = float(rng.uniform(1.2, 1.38))
    jaw = float(rng.uniform(0.66, 0.78))
    face = _arc(0, -0.3, 1.0, 1.0, 180, 360)
    face += _bezier((1.0, -0.3), (1.02, 0.45), (jaw, 0.85)) + _bezier((jaw, 0.85), (0.35, chin - 0.1), (0.0, chin))
    face += _bezier((0.0, chin), (-0.35, chin - 0.1), (-jaw, 0.85)) + _bezier((-jaw, 0.85), (-1.02, 0.45), (-1.0, -0.3))
    draw.polygon(poly(face), fill=skin)
    draw.line(poly(face[23:] + face[:1]), fill=LINE, width=line_w, joint="curve")
    if rng.random() < 0.5:  # blush: skin mixed with pink
        blush = tuple(int(round(0.7 * a + 0.3 * b)) for a, b in zip(skin, (240, 90, 110)))
        for side in (-1, 1):
            draw.ellipse([P(side * 0.62 - 0.2, 0.5), P(side * 0.62 + 0.2, 0.62)], fill=blush)

    # eyes and eyebrows
    eye_w = 0.42 * float(rng.uniform(0.9, 1.15))
    eye_h = eye_w * float(rng.uniform(1.05, 1.3))
    slant = float(rng.uniform(-0.06, 0.06))  # > 0: outer corners up
    for side in (-1, 1):
        ex, ey = side * 0.45, 0.12
        _eye(draw, P, ex, ey, eye_w, eye_h, side, slant, iris, line_w)
        brow = _bezier((ex - side * 0.22, ey - eye_h * 0.95), (ex, ey - eye_h * 1.2), (ex + side * 0.25, ey - eye_h * 0.9), 8)
        draw.line(poly(brow), fill=_shade(hair, 0.5), width=line_w)

    # nose and mouth
    draw.line([P(0.02, 0.55), P(0.06, 0.62)], fill=_shade(skin, 0.6), width=line_w)
    mouth_w = float(rng.uniform(0.1, 0.22))
    mouth = _pick(rng, ("smile", "smile", "open", "small", "flat"))
    if mouth == "open":
        draw.chord([P(-mouth_w, 0.8), P(mouth_w, 1.0)], 0, 180, fill=(170, 60, 70), outline=LINE)
    elif mouth == "small":
        draw.ellipse([P(-0.06, 0.84), P(0.06, 0.95)], fill=(170, 60, 70), outline=LINE)
    elif mouth == "flat":
        draw.line([P(-mouth_w * 0.7, 0.88), P(mouth_w * 0.7, 0.88)], fill=LINE, width=line_w)
    else:
        draw.arc([P(-mouth_w, 0.72), P(mouth_w, 0.88)], 20, 160, fill=LINE, width=line_w)

    _fringe(draw, rng, poly, hair, hair_line, line_w, long_locks=style != "short")
    _accessory(draw, rng, poly, style, line_w)


def _body(draw, rng, poly, skin, cloth, line_w) -> None:
    """Neck and shoulders below the face, with one of a few collars."""
    width = float(rng.uniform(2.0, 2.6))
    draw.polygon(poly([(-0.55, 1.55), (0.55, 1.55), (width, 2.3), (width + 0.3, 4.5), (-width - 0.3, 4.5), (-width, 2.3)]),
                 fill=cloth, outline=_shade(cloth, 0.6))
    draw.polygon(poly([(-0.32, 0.7), (0.32, 0.7), (0.36, 1.7), (0, 1.95), (-0.36, 1.7)]), fill=_shade(skin, 0.9))
    collar = _pick(rng, ("v", "sailor", "round", "none"))
    trim = _pick(rng, ((240, 240, 244), (200, 40, 50), (30, 40, 80), (240, 200, 90)))
    if collar == "v":
        draw.line(poly([(-0.55, 1.6), (0, 2.3), (0.55, 1.6)]), fill=trim, width=3 * line_w, joint="curve")
    elif collar == "sailor":
        for side in (-1, 1):
            draw.polygon(poly([(side * 0.5, 1.6), (side * 1.6, 2.1), (side * 0.2, 2.7)]), fill=trim, outline=_shade(trim, 0.6))
        draw.polygon(poly([(0, 2.5), (-0.3, 2.9), (0.3, 2.9)]), fill=(200, 40, 60))
    elif collar == "round":
        draw.arc(poly([(-0.6, 1.2), (0.6, 1.95)]), 0, 180, fill=trim, width=3 * line_w)


def _fringe(draw, rng, poly, hair, hair_line, line_w, *, long_locks: bool) -> None:
    """Locks hanging over the forehead with curved tips just above the eyebrows, and side locks."""
    n = int(rng.integers(4, 9))
    part = float(rng.uniform(-0.3, 0.3))  # where the locks part; they lean away from it
    xs = np.linspace(-1.14, 1.14, n + 1)
    outline = _arc(0, -0.35, 1.22, 1.2, 180, 360)
    edge = [(1.22, -0.35)]
    for i in reversed(range(n)):
        mid = (xs[i] + xs[i + 1]) / 2
        lean = 0.12 if mid > part else -0.12
        tip = (mid + lean + float(rng.uniform(-0.04, 0.04)),
               float(rng.uniform(-0.44, -0.3)) if abs(mid) < 0.8 else float(rng.uniform(-0.15, 0.15)))
        root = (xs[i], -0.62 if 0 < i else -0.35)
        edge += _bezier(edge[-1], (xs[i + 1] + lean * 0.2, tip[1] - 0.15), tip, 6)
        edge += _bezier(tip, (xs[i] + lean * 0.5, tip[1] - 0.1), root, 6)
    draw.polygon(poly(outline + edge[1:]), fill=hair, outline=hair_line, width=line_w)
    shine = _shade(hair, 1.3)
    draw.line(poly(_arc(0, -0.35, 0.9, 0.85, 215, 325, 16)), fill=shine, width=2 * line_w)
    if rng.random() < 0.3:  # a single strand sticking up
        draw.line(poly(_bezier((0.05, -1.5), (0.4, -2.0), (0.25, -1.75), 8)), fill=hair, width=3 * line_w)
    for side in (-1, 1):
        end = float(rng.uniform(0.8, 1.3)) if long_locks else float(rng.uniform(0.5, 0.8))
        lock = [(side * 1.22, -0.4), (side * 0.9, -0.35)] + _bezier((side * 0.9, -0.35), (side * 0.85, 0.4), (side * 1.0, end), 8)
        lock += _bezier((side * 1.0, end), (side * 1.2, 0.4), (side * 1.25, -0.2), 8)
        draw.polygon(poly(lock), fill=hair, outline=hair_line, width=line_w)


def _accessory(draw, rng, poly, style, line_w) -> None:
    """Nothing, a hairband across the head, or a ribbon on one side (two for twin tails)."""
    kind = _pick(rng, ("none", "none", "band", "ribbon"))
    colour = tuple(int(c) for c in rng.integers(40, 256, 3))
    if kind == "band":
        draw.line(poly(_arc(0, -0.35, 1.2, 1.12, 200, 340, 20)), fill=colour, width=4 * line_w, joint="curve")
    elif kind == "ribbon" or style == "twintails":
        sides = (-1, 1) if style == "twintails" else ((1,) if rng.random() < 0.5 else (-1,))
        for side in sides:
            x, y = side * 1.05, -1.05
            draw.polygon(poly([(x, y), (x - 0.35, y - 0.25), (x - 0.35, y + 0.25)]), fill=colour, outline=_shade(colour, 0.6))
            draw.polygon(poly([(x, y), (x + 0.35, y - 0.25), (x + 0.35, y + 0.25)]), fill=colour, outline=_shade(colour, 0.6))


def _eye(draw, P, ex, ey, w, h, side, slant, iris, line_w) -> None:
    """One eye centred at (ex, ey) in face units: white, two-tone iris, pupil, two highlights, lashes."""

    def box(x0, y0, x1, y1):
        (a, b), (c, d) = P(x0, y0), P(x1, y1)
        return [a, b, c, d]

    top, bottom = ey - h / 2, ey + h / 2
    draw.ellipse(box(ex - w / 2, top, ex + w / 2, bottom), fill=(255, 255, 255))
    iw = 0.72 * w
    draw.ellipse(box(ex - iw / 2, top + 0.05 * h, ex + iw / 2, bottom), fill=_shade(iris, 0.55))
    draw.ellipse(box(ex - iw * 0.4, ey, ex + iw * 0.4, bottom - 0.06 * h), fill=_shade(iris, 1.2))
    draw.ellipse(box(ex - iw * 0.22, ey - 0.15 * h, ex + iw * 0.22, ey + 0.25 * h), fill=(20, 15, 25))
    hx, hy, r = ex - side * 0.15 * w, ey - 0.12 * h, 0.13 * w
    draw.ellipse(box(hx - r, hy - r, hx + r, hy + r), fill=(255, 255, 255))
    lx, ly = ex + side * 0.12 * w, ey + 0.2 * h
    draw.ellipse(box(lx - r / 2, ly - r / 2, lx + r / 2, ly + r / 2), fill=(255, 255, 255))
    # upper lash line: thick, bent down at the inner corner, the outer end raised or lowered by ``slant``
    lash = _arc(ex, ey + 0.05 * h, w * 0.58, h * 0.6, 195, 345, 16)
    lash = [(x, y - slant * side * (x - ex) / w * 2) for x, y in lash]
    draw.line([P(x, y) for x, y in lash], fill=(25, 20, 25), width=3 * line_w, joint="curve")
    draw.line([P(ex - w * 0.3, bottom + 0.02), P(ex + w * 0.3, bottom + 0.02)], fill=LINE, width=line_w)


def save_png(img: Image.Image, path: str | os.PathLike) -> None:
    """Save ``img`` as PNG without metadata chunks (no time or text stamps): same pixels, same bytes."""
    img.save(path, format="PNG", optimize=False, compress_level=6)


def make_demo(out_dir: str | os.PathLike, count: int, seed: int) -> list[Path]:
    """Draw ``count`` scenes of ``seed`` into ``out_dir`` as ``scene_00000.png``...; return their paths.

    The folder is replaced as a whole (written beside it, then renamed): an interrupted run leaves
    the previous demo set untouched.
    Scenes are drawn by worker processes (:mod:`ganpipe.parallel`): the same bytes with any number of them.
    """
    out_dir = Path(out_dir)
    names = [f"scene_{i:05d}.png" for i in range(count)]
    with atomic_dir(out_dir) as tmp:
        jobs = [(seed, i, tmp / name) for i, name in enumerate(names)]
        for _ in ordered_map(_draw_one, jobs, desc="drawing", unit="picture"):
            pass
    return [out_dir / name for name in names]


def _draw_one(job: tuple[int, int, Path]) -> None:
    """Draw scene ``index`` of ``seed`` into ``path`` (one item of :func:`make_demo`, in any process)."""
    seed, index, path = job
    save_png(draw_scene(scene_rng(seed, index)), path)
