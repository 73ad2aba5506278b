"""The ``ganpipe`` command for people.

``ganpipe generate MODEL --n 30 --grid 3x10 --out samples.png`` draws from a trained generator the way
its ``generator.json`` says (noise kind, latent size) and pictures the samples: an image grid, or a
histogram for a 1-D run; ``ganpipe report [--base origin/main]`` writes reports/report.md (the report
stage's work); ``ganpipe add-run dense_small`` copies a ready-made experiment from experiments.yaml
into params.yaml, so that `dvc exp run` trains it; ``ganpipe compare origin/main -S train.mnist.epochs=300``
rebuilds two commits the same way and writes reports/compare/report.md (what CI posts on a pull request).
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from .data.kinds import KINDS, PICTURES, VALUES, kind_named
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


def generate(model_path, *, n: int | None = None, seed: int = 0, grid: tuple[int, int] | None = None,
             out_png=None, out_npy=None, default_kind: str = "pictures"):
    """Draw ``n`` samples from a saved generator; optionally picture them as PNG and/or save them as .npy.

    The noise is the kind and size that the generator's spec (``generator.json``) names, seeded by
    ``seed``. The picture is a rows x cols grid for images (``grid``, or :func:`default_grid`; blank
    cells after the last image) and a histogram for 1-D values. ``n`` defaults to the data
    kind.s ``default_count``; ``default_kind`` names the kind of a generator without generator.json. Returns ``(samples, spec)``: float32 (n, *spec.output_shape), in [-1, 1]
    for images, and the :class:`~ganpipe.training.export.GeneratorSpec`.
    """
    from .fileio import atomic_path
    from .training.export import load_sampler

    if n is not None and n < 1:
        raise GanpipeError(f"--n: must be >= 1, got {n}")
    generator, spec = load_sampler(model_path, kind=kind_named(default_kind))
    kind = kind_named(spec.kind, f"{model_path}: generator.json: kind")
    n = kind.default_count if n is None else n
    if grid is not None:
        if not kind.needs_grid:
            raise GanpipeError(f"--grid: {model_path} draws values of shape {spec.output_shape}, "
                               "pictured as a histogram, not a grid")
        if grid[0] * grid[1] < n:
            raise GanpipeError(f"--grid: {grid[0]}x{grid[1]} has room for {grid[0] * grid[1]} images, but --n is {n}")
    try:
        noise = spec.noise_batch(seed, n)
    except ValueError as exc:  # an unknown noise kind in a hand-edited generator.json
        raise GanpipeError(f"{model_path}: generator.json: {exc}") from None
    samples = np.asarray(generator.predict(noise, verbose=0), dtype=np.float32)
    if out_png is not None:
        kind.draw(samples, out_png, grid=grid or default_grid(n),
                  title=f"{samples.size} generated values ({spec.run}, noise {spec.noise})")
    if out_npy is not None:
        with atomic_path(out_npy) as tmp, open(tmp, "wb") as fh:
            np.save(fh, samples)
    return samples, spec


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ganpipe", description="Use ganpipe's trained GANs.")
    sub = parser.add_subparsers(dest="command", required=True)
    debug = argparse.ArgumentParser(add_help=False)  # --debug of every command but generate (which says more)
    debug.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    gen = sub.add_parser(
        "generate", help="draw samples from a trained generator",
        description="Draw samples from a trained generator with the noise its generator.json names, and "
                    "picture them: a grid for images, a histogram for 1-D values. Writes a PNG when --out is "
                    "given, or when neither --out nor --npy is (then samples.png); --npy alone writes only the .npy.")
    gen.add_argument("model", help="model folder (e.g. models/mnist) or a generator .keras/.h5 file "
                                   "(with generator.json beside it; without one: images from N(0,1) noise)")
    gen.add_argument("--n", type=int, default=None,
                     help=f"number of samples (default {PICTURES.default_count} images, "
                          f"or {VALUES.default_count} values for a 1-D run)")
    gen.add_argument("--grid", type=parse_grid_arg, default=None,
                     help="ROWSxCOLS with room for --n images, e.g. 3x10 (default: near-square; images only)")
    gen.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    gen.add_argument("--kind", choices=tuple(KINDS), default="pictures",
                     help="what a generator without generator.json draws (default pictures: images in [-1, 1])")
    gen.add_argument("--out", default=None,
                     help="PNG to write: the image grid or the values' histogram "
                          "(default samples.png, none when only --npy is given)")
    gen.add_argument("--npy", default=None,
                     help="write the samples as .npy: float32 (n, H, W, C) in [-1, 1] for images, (n, 1) for 1-D values")
    gen.add_argument("--debug", action="store_true",
                     help="show the full traceback on errors, and TensorFlow's native log lines")
    rep = sub.add_parser("report", parents=[debug], help="write reports/report.md: metrics and params against a base revision, "
                                        "quality with its floors and ceilings, plots")
    rep.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    report_stage.add_arguments(rep)
    add = sub.add_parser(
        "add-run", parents=[debug], help="copy a ready-made experiment into params.yaml, or make a folder of "
                                         "pictures a run (--from-folder)",
        description="Copy train.NAME from experiments.yaml into params.yaml, set runs.NAME to its data folder "
                    "and the scorer of that data's kind, and sync what follows from it (`ganpipe sync`); "
                    "then `dvc exp run` trains, scores and plots it. A section already in params.yaml is kept. "
                    "With --from-folder PATH: the pictures under PATH become the picture set NAME "
                    "(prepare_pictures.NAME: crops of --size pixels in data/NAME, its own picture scorer) and a "
                    "run NAME on it (a DCGAN of that size, from experiments.yaml templates.pictures<size>).")
    add.add_argument("name", help="the experiment, e.g. dense_small (see experiments.yaml), or the new run's name")
    add.add_argument("--data", default=None, help="data folder to train on (default: experiments.yaml runs.NAME)")
    add.add_argument("--from-folder", default=None, metavar="PATH",
                     help="a folder of any pictures (any depth, any format Pillow reads) to train a new run NAME on")
    add.add_argument("--size", type=int, default=None,
                     help="with --from-folder: the side of the square crops, 32 or 64 (default 64)")
    add.add_argument("--detect", action="store_true",
                     help="with --from-folder: crop the anime faces animeface finds (default: each picture's centre square)")
    add.add_argument("--params", default="params.yaml", help="params file to add it to (default: params.yaml)")
    add.add_argument("--catalogue", default="experiments.yaml", help="where the experiment is defined "
                                                                     "(default: experiments.yaml)")
    syn = sub.add_parser(
        "sync", parents=[debug], help="write what follows from params.yaml runs into params.yaml and dvc.yaml",
        description="From params.yaml runs (each run's data folder, whose kind decides the rest), rewrite "
                    "the runs' scorers, the evaluate*.runs lists, and dvc.yaml's artifacts, metrics and the "
                    "report stage's inputs: the parts DVC's foreach cannot expand. --check only says what differs.")
    syn.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    syn.add_argument("--pipeline", default="dvc.yaml", help="pipeline file (default: dvc.yaml)")
    syn.add_argument("--check", action="store_true", help="change nothing; exit 2 naming the parts out of date")
    cmp = sub.add_parser(
        "compare", parents=[debug], help="rebuild two commits the same way and report what changed (what CI posts)",
        description="Rebuild commits BASE and HEAD, each in a temporary clone sharing this project's DVC cache, "
                    "with the same `dvc exp run -S` overrides, then diff their metrics and params with DVC. "
                    "On each side, stages whose dvc.lock entry still matches keep their cached outputs; the rest run. Writes reports/compare/report.md and the head "
                    "side's pictures beside it; the working tree is not touched (commit what you want compared).")
    cmp.add_argument("base", help="the commit to compare against, e.g. origin/main")
    cmp.add_argument("head", nargs="?", default="HEAD", help="the commit to compare (default HEAD)")
    cmp.add_argument("-S", "--set-param", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                     help="an override for both sides, as `dvc exp run -S` takes it (repeatable), "
                          "e.g. -S train.mnist.epochs=300")
    sds = sub.add_parser(
        "seeds", parents=[debug], help="experiments that differ only in their seeds, as mean ± std of the headline metrics",
        description="Group `dvc exp show`'s experiments, commits and workspace by their params with every *.seed "
                    "param set aside, and print each group's headline metrics as mean ± std (min-max) in Markdown. "
                    "Make the runs with: dvc exp run --queue -S train.mnist.seed=1,2,3 && dvc queue start")
    sds.add_argument("--min-seeds", type=int, default=2, help="show groups of at least this many runs (default 2)")
    sds.add_argument("--out", default=None, help="also write the Markdown to this file")
    args = parser.parse_args(argv)

    def body(args):
        if args.command == "report":
            report_stage.run_from_args(args, stage_times=True)  # the stage itself leaves them out
            return
        if args.command == "seeds":
            from .fileio import write_text_atomic
            from .seeds import summarise

            text = summarise(min_seeds=args.min_seeds)
            print(text, end="")
            if args.out:
                write_text_atomic(args.out, text)
            return
        if args.command == "compare":
            from .compare import compare

            path = compare(args.base, args.head, settings=args.settings)
            print(f"compare: wrote {path}")
            return
        if args.command == "sync":
            from .runs import sync

            changes = sync(args.params, args.pipeline, write=not args.check)
            if changes and args.check:
                raise GanpipeError(f"{args.params}, {args.pipeline}: out of date with runs ({'; '.join(changes)}); "
                                   "run `ganpipe sync`")
            print("sync: " + ("; ".join(changes) if changes else "up to date"))
            return
        if args.command == "add-run":
            changes = add_run_from_args(args)
            print(f"{args.params}: " + ("; ".join(changes) if changes else f"{args.name} is there already")
                  + ". Now: dvc exp run")
            return
        out_png = args.out if args.out is not None or args.npy is not None else "samples.png"
        # TensorFlow's native noise is filtered by the stage shell (_entry.run, ganpipe.console), as in every stage
        samples, spec = generate(args.model, n=args.n, seed=args.seed, grid=args.grid,
                                 out_png=out_png, out_npy=args.npy, default_kind=args.kind)
        written = " and ".join(str(path) for path in (out_png, args.npy) if path is not None)
        print(f"generate: {len(samples)} {kind_named(spec.kind).noun} of shape {tuple(spec.output_shape)} from {args.model} "
              f"(noise {spec.noise}) -> {written}")

    return _entry.run(body, args)


def add_run_from_args(args) -> list[str]:
    """`ganpipe add-run`: a catalogue experiment, or with --from-folder a new run on a folder of pictures."""
    from .experiments import add_picture_run, add_run

    if args.from_folder is None:
        given = [flag for flag, value in (("--size", args.size), ("--detect", args.detect)) if value]
        if given:
            raise GanpipeError(f"{given[0]}: only with --from-folder")
        return add_run(args.name, params=args.params, catalogue=args.catalogue, data=args.data)
    if args.data is not None:
        raise GanpipeError("--data: not with --from-folder (the run's data is data/NAME, prepared from the folder)")
    return add_picture_run(args.name, args.from_folder, size=64 if args.size is None else args.size,
                           detect=args.detect, params=args.params, catalogue=args.catalogue)


def parse_grid_arg(text: str) -> tuple[int, int]:
    try:
        return parse_grid(text)
    except GanpipeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
