"""Stage prepare_pictures@<set>: a folder of pictures -> data/<set>/faces.bin + manifest, a preview grid and counts.

The set's params are ``prepare_pictures.<set>``: its folder, whether anime faces are found and cropped
(``detect: true``) or each picture's centre square taken (any pictures), and the side, 32 or 64.
"""

from __future__ import annotations

import math

from ..config import PreparePicturesConfig, load_section
from ..data.faces import extract_faces, write_faces
from ..fileio import write_json_atomic
from . import _entry

PREVIEW_GRID = 5  # the preview shows up to 5 x 5 pictures


def prepare(cfg: PreparePicturesConfig, out_dir, preview_png=None, metrics_json=None) -> dict:
    """Crop the pictures of ``cfg.raw_dir`` into ``out_dir``; optionally a preview grid and the counts as JSON.

    Nothing is written unless at least one crop came out; returns the manifest.
    """
    faces, manifest = extract_faces(cfg.raw_dir, cfg)
    manifest = write_faces(out_dir, faces, manifest)
    if preview_png is not None:
        from ..reporting.figures import save_image_grid

        side = min(PREVIEW_GRID, math.isqrt(len(faces)))
        save_image_grid(faces[: side * side], preview_png, side, side)
    if metrics_json is not None:
        write_json_atomic(metrics_json, manifest["counts"])
    return manifest


def summary(name: str, cfg: PreparePicturesConfig, counts: dict, out) -> str:
    """The stage's one line: what came out of how many pictures."""
    found = (f"{counts['faces']} faces from {counts['pictures_with_faces']} of {counts['pictures']} pictures"
             if cfg.detect else f"{counts['faces']} pictures of {counts['pictures']} files")
    return (f"prepare_pictures {name}: {found} in {cfg.raw_dir} ({counts['pictures_skipped']} skipped, "
            f"{counts['duplicates_dropped']} duplicates dropped) -> {out} ({cfg.image_size}x{cfg.image_size})")


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.prepare_pictures", __doc__)
    p.add_argument("set", help="the picture set: params section prepare_pictures.<set>")
    p.add_argument("--out", required=True, help="output folder for faces.bin and manifest.json (data/<set>)")
    p.add_argument("--preview", default=None, help="PNG grid of the first pictures")
    p.add_argument("--metrics", default=None, help="JSON of the counts of pictures and crops")

    def body(args):
        cfg = load_section(args.params, f"prepare_pictures.{args.set}", PreparePicturesConfig)
        counts = prepare(cfg, args.out, args.preview, args.metrics)["counts"]
        print(summary(args.set, cfg, counts, args.out))

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
