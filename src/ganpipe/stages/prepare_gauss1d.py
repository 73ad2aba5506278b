"""Stage prepare_gauss1d: the 1-D Gaussian GAN's target -> data/gauss1d/samples.bin + manifest.json."""

from __future__ import annotations

from ..config import PrepareGauss1dConfig, load_section
from ..data.gauss1d import write_gauss1d
from . import _entry


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.prepare_gauss1d", __doc__)
    p.add_argument("--out", default="data/gauss1d", help="output folder")

    def body(args):
        cfg = load_section(args.params, "prepare_gauss1d", PrepareGauss1dConfig)
        write_gauss1d(args.out, mean=cfg.mean, variance=cfg.variance, count=cfg.count, seed=cfg.seed)
        print(f"prepare_gauss1d: {cfg.count} samples of N({cfg.mean}, {cfg.variance}) -> {args.out}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
