"""The ``ganpipe`` command for people.

``ganpipe generate MODEL --n 30 --grid 3x10 --out samples.png`` draws from a trained generator;
``ganpipe report [--base origin/main]`` writes reports/report.md (the report stage's work).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from .errors import GanpipeError
from .stages import _entry
from .stages import report as report_stage


def parse_grid(text: str) -> tuple[int, int]:
    """'3x10' -> (3, 10): rows x columns."""
    try:
        rows, cols = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise GanpipeError(f"--grid: expected ROWSxCOLS such as 3x10, got '{text}'") from None
    if rows < 1 or cols < 1:
        raise GanpipeError(f"--grid: rows and columns must be >= 1, got '{text}'")
    return rows, cols


def default_grid(n: int) -> tuple[int, int]:
    """The most nearly square rows x cols grid with room for ``n`` images and no empty row."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def generate(model_path, *, n: int, seed: int, grid: tuple[int, int] | None, out_png=None, out_npy=None) -> np.ndarray:
    """Draw ``n`` images from the saved generator; optionally write a grid PNG and/or the raw .npy.

    The noise is N(0, 1) of the generator's own latent size (read from the model), seeded by ``seed``.
    Returns float32 images (n, H, W, C) in [-1, 1].
    """
    from .fileio import atomic_path
    from .training.export import load_generator
    from .training.gan import fixed_noise

    if n < 1:
        raise GanpipeError(f"--n: must be >= 1, got {n}")
    generator = load_generator(model_path)
    latent_dim = int(generator.input_shape[-1])
    images = np.asarray(generator.predict(fixed_noise(seed, n, latent_dim), verbose=0), dtype=np.float32)
    if out_png is not None:
        from .reporting.figures import save_image_grid

        rows, cols = grid or default_grid(n)
        if rows * cols > n:
            raise GanpipeError(f"--grid: {rows}x{cols} needs {rows * cols} images, but --n is {n}")
        save_image_grid(images, out_png, rows, cols)
    if out_npy is not None:
        with atomic_path(out_npy) as tmp, open(tmp, "wb") as fh:
            np.save(fh, images)
    return images


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ganpipe", description="Use ganpipe's trained GANs.")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="draw images from a trained generator")
    gen.add_argument("model", help="model folder (e.g. models/mnist) or a generator .keras/.h5 file")
    gen.add_argument("--n", type=int, default=25, help="number of images (default 25)")
    gen.add_argument("--grid", type=parse_grid_arg, default=None, help="ROWSxCOLS, e.g. 3x10 (default: near-square)")
    gen.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    gen.add_argument("--out", default="samples.png", help="grid PNG to write (default samples.png)")
    gen.add_argument("--npy", default=None, help="also write the images as .npy: float32 (n, H, W, C) in [-1, 1]")
    gen.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    rep = sub.add_parser("report", help="write reports/report.md: metrics and params against a base revision, "
                                        "quality with its floors and ceilings, plots")
    rep.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    rep.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    report_stage.add_arguments(rep)
    args = parser.parse_args(argv)

    def body(args):
        if args.command == "report":
            report_stage.run_from_args(args)
            return
        images = generate(args.model, n=args.n, seed=args.seed, grid=args.grid, out_png=args.out, out_npy=args.npy)
        print(f"generate: {len(images)} images of shape {images.shape[1:]} -> {args.out}"
              + (f" and {args.npy}" if args.npy else ""))

    return _entry.run(body, args)


def parse_grid_arg(text: str) -> tuple[int, int]:
    try:
        return parse_grid(text)
    except GanpipeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
