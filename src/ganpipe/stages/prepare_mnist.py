"""Stage prepare_mnist: a digit source -> data/mnist/{images,labels}{Train,Test}.bin + manifest + preview."""

from __future__ import annotations

from ..config import PrepareMnistConfig, load_section
from ..data.binfmt import write_dataset
from ..data.sources import load_source
from . import _entry


def prepare(cfg: PrepareMnistConfig, out_dir, preview_png=None) -> dict:
    """Load ``cfg.source``, write the .bin folder ``out_dir``, and optionally a 3x3 preview; return the manifest."""
    train, test = load_source(cfg.source, test_fraction=cfg.test_fraction, seed=cfg.seed)
    manifest = write_dataset(out_dir, train, test, source=cfg.source)
    if preview_png is not None:
        from ..reporting.figures import save_image_grid

        titles = [f"Label: {int(label)}" for label in train.labels[:9]]
        save_image_grid(train.images[:9], preview_png, 3, 3, titles=titles)
    return manifest


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.prepare_mnist", __doc__)
    p.add_argument("--out", default="data/mnist", help="output folder for the .bin files")
    p.add_argument("--preview", default="reports/mnist/preview.png", help="PNG of 9 training images")

    def body(args):
        cfg = load_section(args.params, "prepare_mnist", PrepareMnistConfig)
        manifest = prepare(cfg, args.out, args.preview)
        counts = manifest["counts"]
        print(f"prepare_mnist: {counts['train']} train + {counts['test']} test images from {cfg.source} -> {args.out}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
