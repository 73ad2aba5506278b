"""Stage train@<experiment>: train the GAN of params section ``train.<experiment>`` on a data folder.

Writes models/<experiment>/ (generator/discriminator .keras + legacy generator_model_<epochs>.h5),
and in reports/<experiment>/, through DVCLive: metrics.json, plots/metrics/*.tsv and the grids
plots/images/samples/<step>.png and plots/images/fresh/<step>.png; and history/{d_loss,d_acc,g_loss}.txt,
training_log.txt and timing.json.
Checkpoints go to --checkpoints (outside DVC's outputs, so a rerun after an interruption finds
them and resumes); they are removed when the run completes.

With ``strategy: multi_worker`` every worker runs this same command (TF_CONFIG tells each its
task); only the chief writes the folders above, the others write to a scratch folder that is removed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ..config import TrainConfig, load_section
from ..errors import ConfigError, GanpipeError
from ..fileio import sha256_array, write_json_atomic
from . import _entry


def run_training(cfg: TrainConfig, *, data_dir, models_dir, reports_dir, checkpoint_dir=None,
                 progress: bool = True, where: str = "train"):
    """Train from ``cfg`` on ``data_dir``'s training images; write models and reports. Returns the TrainResult.

    ``where`` (e.g. "params.yaml: train.mnist") prefixes errors about settings that only the data can refute.
    Under ``multi_worker``, a worker other than the chief writes nothing that outlives the call.
    """
    from ..training import distribute

    if cfg.strategy == "multi_worker" and cfg.checkpoint_interval:
        raise ConfigError(f"{where}.checkpoint_interval: must be 0 with strategy multi_worker (resuming would need "
                          f"every worker to restore the same checkpoint), got {cfg.checkpoint_interval}")
    strategy = distribute.make_strategy(cfg.strategy)  # first: multi_worker must start before any TensorFlow op
    if distribute.is_chief(strategy):
        return _train(cfg, strategy, data_dir=data_dir, models_dir=models_dir, reports_dir=reports_dir,
                      checkpoint_dir=checkpoint_dir, progress=progress, where=where)
    with tempfile.TemporaryDirectory(prefix="ganpipe-worker-") as scratch:  # TF's pattern for non-chief workers
        return _train(cfg, strategy, data_dir=data_dir, models_dir=Path(scratch) / "models",
                      reports_dir=Path(scratch) / "reports", checkpoint_dir=None, progress=False, where=where)


def _train(cfg: TrainConfig, strategy, *, data_dir, models_dir, reports_dir, checkpoint_dir, progress, where):
    from dvclive import Live

    from ..data.training import load_training_images
    from ..training import checkpoint, distribute
    from ..training.export import save_models
    from ..training.gan import GAN, ArraySampler, TrainingDiverged
    from ..training.loop import train, write_history_txt
    from ..training.networks import build_networks

    images = load_training_images(data_dir)
    if cfg.batch_size > len(images):
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} is larger than the {len(images)} training images in {data_dir}")
    if cfg.batch_size % distribute.replicas(strategy):
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} does not split evenly over the "
                          f"{distribute.replicas(strategy)} replicas of strategy {cfg.strategy}")
    def build(seed):
        try:
            return build_networks(cfg, images.shape[1:], seed=seed, strategy=strategy)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None

    generator, discriminator = build(cfg.seed)
    gan = GAN.from_config(cfg, generator, discriminator, ArraySampler(images), strategy=strategy)

    reports_dir = Path(reports_dir)
    with Live(dir=str(reports_dir), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        try:
            result = train(gan, cfg, reports_dir=reports_dir, checkpoint_dir=checkpoint_dir,
                           data_digest=sha256_array(images) if checkpoint_dir is not None else "",
                           live=live, progress=progress,
                           fresh_discriminator=lambda step: build(cfg.seed + step)[1])
        except TrainingDiverged as exc:
            kept = f"; the last good checkpoint is kept in {checkpoint_dir}" if checkpoint_dir and cfg.checkpoint_interval else ""
            raise GanpipeError(f"{where}: {exc} (try a lower lr/d_lr){kept}") from None
        # summary only: the last step's losses and this process's speed
        live.step = result.steps - 1
        for name, value in result.final.items():
            live.summary[name] = value
        if images.ndim == 2:  # the 1-D Gaussian GAN: how close to the target
            for name, value in gauss1d_report(gan, cfg, images, data_dir, reports_dir).items():
                live.summary[name] = value
    write_history_txt(result.history, reports_dir / "history")
    # timings vary from run to run: kept out of metrics.json (a stage output), so an unchanged
    # rerun leaves every output hash in dvc.lock unchanged; dvc.yaml shows this file as metrics too
    write_json_atomic(reports_dir / "timing.json", {"steps_per_s": round(result.steps_per_s, 2),
                                                    "wall_time_s": round(result.wall_time_s, 2),
                                                    "resumed_from_step": result.resumed_from})
    save_models(models_dir, generator, discriminator, epochs=cfg.epochs)
    if checkpoint_dir is not None:
        checkpoint.clear(checkpoint_dir)
    return result


def gauss1d_report(gan, cfg, pool, data_dir, reports_dir) -> dict[str, float]:
    """1,000 values from the fixed noise: their mean, std and KS distance to the target, and histogram.png
    against the training ``pool`` (N, 1) read from ``data_dir``."""
    from ..data.gauss1d import read_gauss1d_manifest
    from ..evaluation.gauss1d import gauss1d_metrics
    from ..reporting.figures import save_histogram
    from ..training.gan import fixed_noise
    from ..training.loop import HISTOGRAM_VALUES

    manifest = read_gauss1d_manifest(data_dir)
    values = gan.generate(fixed_noise(cfg.seed, HISTOGRAM_VALUES, gan.latent_dim, cfg.noise))[:, 0]
    save_histogram(values, Path(reports_dir) / "histogram.png", reference=pool[:, 0],
                   target=(manifest["mean"], manifest["variance"]), title="1-D Gaussian GAN: 1,000 generated values")
    return {k: round(v, 4) for k, v in gauss1d_metrics(values, manifest["mean"], manifest["variance"]).items()}


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.train", __doc__)
    p.add_argument("experiment", help="name of the params section train.<experiment> (e.g. mnist)")
    p.add_argument("--data", required=True, help="data folder: MNIST-style .bin files or faces.bin")
    p.add_argument("--models", required=True, help="output folder for the trained networks")
    p.add_argument("--reports", required=True, help="output folder for metrics, history and sample grids")
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (resume from it if it holds this run's)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def body(args):
        section = f"train.{args.experiment}"
        cfg = load_section(args.params, section, TrainConfig)
        result = run_training(cfg, data_dir=args.data, models_dir=args.models, reports_dir=args.reports,
                              checkpoint_dir=args.checkpoints, progress=not args.no_progress,
                              where=f"{args.params}: {section}")
        final = ", ".join(f"{k} {v:.4f}" for k, v in result.final.items())
        resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
        print(f"train {args.experiment}: {result.steps} steps{resumed} in {result.wall_time_s:.1f} s "
              f"({result.steps_per_s:.1f} steps/s); final {final}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
