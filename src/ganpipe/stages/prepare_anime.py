"""Stage prepare_anime: a folder of pictures -> data/anime/faces.bin + manifest, a preview grid and counts."""

from __future__ import annotations

import math
import sys

from ..config import PrepareAnimeConfig, load_section
from ..data.faces import extract_faces, write_faces
from ..fileio import write_json_atomic
from . import _entry

PREVIEW_GRID = 5  # the preview shows up to 5 x 5 faces


def prepare(cfg: PrepareAnimeConfig, out_dir, preview_png=None, metrics_json=None) -> dict:
    """Extract the faces of ``cfg.raw_dir`` into ``out_dir``; optionally a preview grid and the counts as JSON.

    Nothing is written unless at least one face came out; returns the manifest.
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


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.prepare_anime", __doc__)
    p.add_argument("--out", default="data/anime", help="output folder for faces.bin and manifest.json")
    p.add_argument("--preview", default="reports/anime/preview.png", help="PNG grid of the first faces")
    p.add_argument("--metrics", default="reports/anime/faces.json", help="JSON of the counts of pictures and faces")

    def body(args):
        cfg = load_section(args.params, "prepare_anime", PrepareAnimeConfig)
        counts = prepare(cfg, args.out, args.preview, args.metrics)["counts"]
        print(f"prepare_anime: {counts['faces']} faces from {counts['pictures_with_faces']} of {counts['pictures']} "
              f"pictures in {cfg.raw_dir} ({counts['pictures_skipped']} skipped, "
              f"{counts['duplicates_dropped']} duplicates dropped) -> {args.out}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
