"""Stage evaluate_gauss1d@<experiment>: how close a 1-D GAN's values are to its normal target.

Writes reports/<experiment>/quality.json (generated mean and standard deviation, Kolmogorov-Smirnov
distance to the target), quality_details.json (the target) and histogram.png (the generated values
over the training pool and the target density). The target is read from the data folder's manifest;
how to sample the generator, from its generator.json.
"""

from __future__ import annotations

from pathlib import Path

from ..config import EvaluateGauss1dConfig, load_section
from . import _entry


# each headline number's standard error, beside it in quality.json
NOISE = ("gen_mean_std", "gen_std_std", "ks_distance_std")


def gauss1d_noise(values, mean: float, variance: float, rounds: int = 50) -> dict:
    """The standard errors of the headline numbers: the mean's s/sqrt(n), the std's s/sqrt(2n) (normal
    values) and the KS distance's std over ``rounds`` bootstrap resamples (the snapshot scorer's)."""
    import numpy as np

    from ..evaluation.gauss1d import ks_bootstrap

    values = np.asarray(values, np.float64).ravel()
    n, s = len(values), float(values.std())
    ks_std = ks_bootstrap(values, mean, variance, rounds=rounds)
    return {"gen_mean_std": round(s / np.sqrt(n), 4), "gen_std_std": round(s / np.sqrt(2 * n), 4),
            "ks_distance_std": round(ks_std, 4)}


def evaluate_gauss1d_run(cfg: EvaluateGauss1dConfig, *, data_dir, models_dir, reports_dir) -> dict:
    """Draw ``cfg.samples`` values from the generator in ``models_dir`` (its own noise, seeded by ``cfg.seed``)
    and score them against the N(mean, variance) of ``data_dir``'s manifest.

    Returns gen_mean, gen_std, ks_distance (in [0, 1]), rounded to 4 places (quality.json), and
    target {mean, variance} (quality_details.json).
    """
    from ..data.gauss1d import read_gauss1d
    from ..data.manifest import check_kind
    from ..evaluation import write_quality
    from ..evaluation.gauss1d import HEADLINE, gauss1d_metrics
    from ..evaluation.sampling import load_checked_generator
    from ..reporting.figures import save_histogram

    check_kind(data_dir, "values", "evaluate_gauss1d")
    pool, manifest = read_gauss1d(data_dir)
    generator, spec = load_checked_generator(models_dir, pool.shape[1:], data_dir)
    values = generator.predict(spec.noise_batch(cfg.seed, cfg.samples), batch_size=1024, verbose=0)[:, 0]
    mean, variance = manifest["mean"], manifest["variance"]
    result = {name: round(value, 4) for name, value in gauss1d_metrics(values, mean, variance).items()}
    result.update(gauss1d_noise(values, mean, variance))
    result["target"] = {"mean": mean, "variance": variance}
    reports = Path(reports_dir)
    save_histogram(values, reports / "histogram.png", reference=pool[:, 0], target=(mean, variance),
                   title=f"{spec.run}: {cfg.samples:,} generated values")
    write_quality(reports, result, HEADLINE + NOISE)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.evaluate_gauss1d", __doc__)
    p.add_argument("experiment", help="name of the experiment (a 1-D GAN), for the summary line")
    p.add_argument("--data", default="data/gauss1d", help="the gauss1d folder the GAN was trained on")
    p.add_argument("--models", required=True, help="the experiment's model folder")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")

    def body(args):
        cfg = load_section(args.params, "evaluate_gauss1d", EvaluateGauss1dConfig)
        r = evaluate_gauss1d_run(cfg, data_dir=args.data, models_dir=args.models, reports_dir=args.reports)
        target = r["target"]
        print(f"evaluate_gauss1d {args.experiment}: mean {r['gen_mean']:.4f}, std {r['gen_std']:.4f} "
              f"(target N({target['mean']:g}, {target['variance']:g}): std {target['variance'] ** 0.5:.4f}), "
              f"KS distance {r['ks_distance']:.4f} over {cfg.samples} values")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
