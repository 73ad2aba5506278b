"""Stage judge: train the classifier that scores every digit experiment (models/judge, reports/judge)."""

from __future__ import annotations

from pathlib import Path

from ..config import JudgeConfig, load_section
from ..fileio import atomic_dir, write_json_atomic
from . import _entry


def make_judge(cfg: JudgeConfig, *, data_dir, model_dir, reports_dir) -> dict:
    """Train the judge on ``data_dir``'s training split, save it, return its metrics (test accuracy)."""
    from ..data.binfmt import read_split
    from ..evaluation.judge import JUDGE_FILE, accuracy, train_judge
    from ..training.export import save_stable

    train, test = read_split(data_dir, "Train"), read_split(data_dir, "Test")
    model = train_judge(train.images, train.labels, epochs=cfg.epochs, batch_size=cfg.batch_size, seed=cfg.seed)
    with atomic_dir(model_dir) as tmp:
        save_stable(model, tmp / JUDGE_FILE)
    result = {"test_accuracy": round(accuracy(model, test.images, test.labels), 4),
              "train_accuracy": round(accuracy(model, train.images, train.labels), 4),
              "train_images": len(train), "test_images": len(test)}
    write_json_atomic(Path(reports_dir) / "metrics.json", result)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.judge", __doc__)
    p.add_argument("--data", default="data/mnist", help="prepared .bin folder")
    p.add_argument("--model", default="models/judge", help="output folder for classifier.keras")
    p.add_argument("--reports", default="reports/judge", help="output folder for metrics.json")

    def body(args):
        cfg = load_section(args.params, "judge", JudgeConfig)
        result = make_judge(cfg, data_dir=args.data, model_dir=args.model, reports_dir=args.reports)
        print(f"judge: test accuracy {result['test_accuracy']:.4f} on {result['test_images']} images")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
