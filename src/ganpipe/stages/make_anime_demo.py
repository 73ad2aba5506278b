"""Stage make_anime_demo: draw the offline demo pictures -> data/raw/anime_demo/scene_*.png."""

from __future__ import annotations

from ..config import AnimeDemoConfig, load_section
from ..data.anime_demo import make_demo
from . import _entry


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.make_anime_demo", __doc__)
    p.add_argument("--out", default="data/raw/anime_demo", help="output folder for the scene PNGs (replaced as a whole)")

    def body(args):
        cfg = load_section(args.params, "make_anime_demo", AnimeDemoConfig)
        paths = make_demo(args.out, cfg.count, cfg.seed)
        print(f"make_anime_demo: {len(paths)} scenes (seed {cfg.seed}) -> {args.out}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
