"""Stage plots@<experiment>: history -> loss and accuracy plots, plus a copy of the final sample grid.

Reads what train@<experiment> logged through DVCLive under reports/<experiment>/plots (metrics/*.tsv,
images/samples/<step>.png) and the discriminator resets from models/<experiment>/generator.json;
writes loss.png, accuracy.png and final_samples.png beside them. Needs no TensorFlow.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..fileio import atomic_path
from . import _entry

SAMPLES = Path("plots", "images", "samples")  # where train@<experiment> logs its fixed-noise grids (DVCLive)
METRICS = Path("plots", "metrics")  # and its history: <name>.tsv with a step column


def read_metric_tsv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """DVCLive's ``step<TAB>name`` file -> (steps int64 (n,), values float64 (n,)); DataError naming the file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DataError(f"{path}: history file not found (run the train stage first)") from None
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    if not rows:
        raise DataError(f"{path}: history file is empty")
    try:
        return np.array([int(r[0]) for r in rows]), np.array([float(r[1]) for r in rows])
    except (ValueError, IndexError) as exc:
        raise DataError(f"{path}: not 'step<TAB>value' rows ({exc})") from None


def make_plots(reports_dir, *, marks=()) -> list[Path]:
    """Write loss.png, accuracy.png and final_samples.png into ``reports_dir``; return their paths.

    ``marks``: steps drawn as "D reset" lines on both plots.
    """
    from ..reporting.figures import save_accuracy_plot, save_loss_plot

    reports_dir = Path(reports_dir)
    history = {name: read_metric_tsv(reports_dir / METRICS / f"{name}.tsv") for name in ("d_loss", "d_acc", "g_loss")}
    steps = history["d_loss"][0]
    save_loss_plot(steps, history["d_loss"][1], history["g_loss"][1], reports_dir / "loss.png", marks=marks)
    save_accuracy_plot(steps, history["d_acc"][1], reports_dir / "accuracy.png", marks=marks)
    samples = reports_dir / SAMPLES
    grids = sorted(samples.glob("*.png"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
    if not grids or not grids[-1].stem.isdigit():
        raise DataError(f"{samples}: no sample grids <step>.png found (run the train stage first)")
    with atomic_path(reports_dir / "final_samples.png") as tmp:
        shutil.copyfile(grids[-1], tmp)
    return [reports_dir / name for name in ("loss.png", "accuracy.png", "final_samples.png")]


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.plots", __doc__)
    p.add_argument("experiment", help="the run's name (for messages)")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")
    p.add_argument("--models", default=None, help="the experiment's model folder (its generator.json names the D resets)")

    def body(args):
        from ..training.export import read_spec

        spec = read_spec(args.models) if args.models else None
        for path in make_plots(args.reports, marks=spec.d_resets if spec else ()):
            print(f"plots: wrote {path}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
