"""Stage plots@<experiment>: history -> loss and accuracy plots, plus a copy of the final sample grid.

Reads reports/<experiment>/history/*.txt and plots/images/samples/<step>.png written by train@<experiment>;
writes loss.png, accuracy.png and final_samples.png beside them. Needs no TensorFlow.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_path
from . import _entry

SAMPLES = Path("plots", "images", "samples")  # where train@<experiment> logs its fixed-noise grids (DVCLive)


def read_history_txt(path: Path) -> np.ndarray:
    """One float per line -> float64 (n,); DataError naming the file if missing, empty or not numeric."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{path}: history file not found (run the train stage first)") from None
    if not text.strip():
        raise DataError(f"{path}: history file is empty")
    try:
        return np.array([float(line) for line in text.split()], dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"{path}: not one number per line ({exc})") from None


def make_plots(reports_dir, *, marks=()) -> list[Path]:
    """Write loss.png, accuracy.png and final_samples.png into ``reports_dir``; return their paths.

    ``marks``: x positions (step / history_interval) drawn as "D reset" lines on both plots.
    """
    from ..reporting.figures import save_accuracy_plot, save_loss_plot

    reports_dir = Path(reports_dir)
    history = {name: read_history_txt(reports_dir / "history" / f"{name}.txt") for name in ("d_loss", "d_acc", "g_loss")}
    save_loss_plot(history["d_loss"], history["g_loss"], reports_dir / "loss.png", marks=marks)
    save_accuracy_plot(history["d_acc"], reports_dir / "accuracy.png", marks=marks)
    samples = reports_dir / SAMPLES
    grids = sorted(samples.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
    if not grids or not grids[-1].stem.isdigit():
        raise DataError(f"{samples}: no sample grids <step>.png found (run the train stage first)")
    with atomic_path(reports_dir / "final_samples.png") as tmp:
        shutil.copyfile(grids[-1], tmp)
    return [reports_dir / name for name in ("loss.png", "accuracy.png", "final_samples.png")]


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.plots", __doc__)
    p.add_argument("experiment", help="name of the params section train.<experiment>")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")

    def body(args):
        from ..config import TrainConfig, load_section

        cfg = load_section(args.params, f"train.{args.experiment}", TrainConfig)
        marks = [step / cfg.history_interval for step in cfg.reset_discriminator_at]
        for path in make_plots(args.reports, marks=marks):
            print(f"plots: wrote {path}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
