"""Stage evaluate@<experiment>: score a digit GAN with the judge; reports/<experiment>/quality.json.

quality.json holds the headline numbers (DVC metrics: domain FID and KID each with its noise,
precision and recall in the judge's feature space, Inception Score, modes, the largest class's share,
memorised share); quality_details.json the rest (confident share, class histogram, the copying test's z and
per-class thresholds, the class-blind share, and the same numbers for real digits and for the untrained
generator). Also writes memorisation.png: the 8 generated images closest to a training image relative
to their class's threshold (top row, with their judged class, distance and threshold) above those
training images (bottom row, with their label and index).
"""

from __future__ import annotations

from pathlib import Path

from ..config import EvaluateConfig, load_section
from . import _entry


def evaluate_run(cfg: EvaluateConfig, *, data_dir, judge_dir, models_dir, reports_dir) -> dict:
    """Generate ``cfg.samples`` images from the trained and from an untrained generator; judge them.

    How to sample the generator and rebuild its untrained twin comes from ``models_dir``'s generator.json.
    """
    from ..data.binfmt import read_split
    from ..data.manifest import check_kind
    from ..evaluation import write_quality
    from ..evaluation.digits import HEADLINE, evaluate_digits
    from ..evaluation.judge import JUDGE_FILE, scale
    from ..evaluation.sampling import load_checked_generator, trained_and_untrained
    from ..reporting.figures import save_pairs_figure
    from ..training.export import load_made_model

    check_kind(data_dir, "digits", "evaluate")
    train, test = read_split(data_dir, "Train"), read_split(data_dir, "Test")
    generator, spec = load_checked_generator(models_dir, train.images.shape[1:], data_dir)
    judge = load_made_model(Path(judge_dir) / JUDGE_FILE, "judge")
    generated, baseline = trained_and_untrained(generator, spec, seed=cfg.seed, count=cfg.samples, batch_size=500)
    result, pairs = evaluate_digits(judge, generated, baseline, train.images, test.images, test.labels,
                                    confidence=cfg.confidence, min_share=cfg.min_share)
    reports = Path(reports_dir)
    save_pairs_figure(
        generated[pairs.generated], scale(train.images[pairs.train]), reports / "memorisation.png",
        labels=("generated", "nearest training image"),
        top_titles=[f"judged {c}\nd {d:.2f} / {t:.2f}" for c, d, t in zip(pairs.judged, pairs.distance, pairs.threshold)],
        bottom_titles=[f"label {train.labels[i]}\n#{i}" for i in pairs.train],
        title=f"copied share {result['memorised_share']:.3f} (real unseen digits {result['real']['memorised_share']:.3f}), "
              f"copying z {'n/a' if result['copying_z'] is None else format(result['copying_z'], '.2f')} (copies: below -3)\n"
              f"d: distance to the nearest training image / the judged class's copy threshold")
    write_quality(reports, result, HEADLINE)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.evaluate", __doc__)
    p.add_argument("experiment", help="name of the experiment (a digit GAN), for the summary line")
    p.add_argument("--data", default="data/mnist", help="prepared .bin folder the GAN was trained on")
    p.add_argument("--judge", default="models/judge", help="folder with the judge's classifier.keras")
    p.add_argument("--models", required=True, help="the experiment's model folder")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")

    def body(args):
        cfg = load_section(args.params, "evaluate", EvaluateConfig)
        r = evaluate_run(cfg, data_dir=args.data, judge_dir=args.judge, models_dir=args.models,
                         reports_dir=args.reports)
        print(f"evaluate {args.experiment}: domain FID {r['domain_fid']:.2f} ± {r['domain_fid_std']:.2f} "
              f"(real {r['real']['domain_fid']:.2f}, untrained {r['untrained']['domain_fid']:.2f}), "
              f"KID {1000 * r['domain_kid']:.2f} ± {1000 * r['domain_kid_std']:.2f} x 1e-3, "
              f"precision {r['domain_precision']:.3f}, recall {r['domain_recall']:.3f}, IS {r['inception_score']:.2f}, modes {r['modes']}/10, "
              f"memorised {r['memorised_share']:.3f} (real {r['real']['memorised_share']:.3f}; copying z {r['copying_z']:.2f})")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
