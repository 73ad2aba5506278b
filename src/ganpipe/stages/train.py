"""Stage train@<experiment>: train the GAN of params section ``train.<experiment>`` on a .bin folder.

Writes models/<experiment>/ (generator/discriminator .keras + legacy generator_model_<epochs>.h5),
and in reports/<experiment>/: metrics.json and plots/metrics/*.tsv (DVCLive), samples/<step>.png
and history/{d_loss,d_acc,g_loss}.txt.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import TrainConfig, load_section
from ..errors import ConfigError
from . import _entry


def run_training(cfg: TrainConfig, *, data_dir, models_dir, reports_dir, progress: bool = True, where: str = "train"):
    """Train from ``cfg`` on ``data_dir``'s training split; write models and reports. Returns the TrainResult.

    ``where`` (e.g. "params.yaml: train.mnist") prefixes errors about settings that only the data can refute.
    """
    import keras
    from dvclive import Live

    from ..data.binfmt import read_split
    from ..models import build_gan_models
    from ..training.export import save_models
    from ..training.gan import GAN
    from ..training.loop import train, write_history_txt

    images = read_split(data_dir, "Train").images
    if cfg.batch_size > len(images):
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} is larger than the {len(images)} training images in {data_dir}")

    keras.utils.set_random_seed(cfg.seed)
    generator, discriminator = build_gan_models(cfg.arch, latent_dim=cfg.latent_dim, image_shape=images.shape[1:])
    gan = GAN(generator, discriminator, lr=cfg.lr, beta_1=cfg.beta_1, batch_size=cfg.batch_size,
              seed=cfg.seed, steps_per_call=cfg.steps_per_call)

    reports_dir = Path(reports_dir)
    with Live(dir=str(reports_dir), dvcyaml=None, save_dvc_exp=False, report=None) as live:
        result = train(gan, images, epochs=cfg.epochs, history_interval=cfg.history_interval,
                       sample_interval=cfg.sample_interval, samples_dir=reports_dir / "samples",
                       live=live, progress=progress)
        # summary only: the last step's losses (also the last history row) and the run's speed
        live.step = result.steps - 1
        live.log_metric("steps_per_s", round(result.steps_per_s, 2), plot=False)
        live.log_metric("wall_time_s", round(result.wall_time_s, 2), plot=False)
    write_history_txt(result.history, reports_dir / "history")
    save_models(models_dir, generator, discriminator, epochs=cfg.epochs)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.train", __doc__)
    p.add_argument("experiment", help="name of the params section train.<experiment> (e.g. mnist)")
    p.add_argument("--data", required=True, help="folder with imagesTrain.bin/labelsTrain.bin")
    p.add_argument("--models", required=True, help="output folder for the trained networks")
    p.add_argument("--reports", required=True, help="output folder for metrics, history and sample grids")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def body(args):
        section = f"train.{args.experiment}"
        cfg = load_section(args.params, section, TrainConfig)
        result = run_training(cfg, data_dir=args.data, models_dir=args.models, reports_dir=args.reports,
                              progress=not args.no_progress, where=f"{args.params}: {section}")
        final = ", ".join(f"{k} {v:.4f}" for k, v in result.final.items())
        print(f"train {args.experiment}: {result.steps} steps in {result.wall_time_s:.1f} s "
              f"({result.steps_per_s:.1f} steps/s); final {final}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
