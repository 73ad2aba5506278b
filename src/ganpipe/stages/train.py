"""Stage train@<experiment>: train the GAN of params section ``train.<experiment>`` on a data folder.

Writes models/<experiment>/ (generator/discriminator .keras, generator.json: how to sample it, and
the legacy generator_model_<epochs>.h5; with an EMA the generator is the average and
generator_live.keras the last live weights), and in reports/<experiment>/, through DVCLive:
metrics.json, plots/metrics/*.tsv and the grids plots/images/{samples,fresh}/<steps done>.png; and
history/{d_loss,d_acc,g_loss}.txt, training_log.txt and timing.json.

Checkpoints go to --checkpoints (outside DVC's outputs, so a rerun after an interruption finds
them and resumes); Ctrl-C and SIGTERM save one before the stage exits; they are removed when the
run completes. With ``strategy: multi_worker`` every worker runs this same command (TF_CONFIG
tells each its task): only the chief writes, every worker resumes from the chief's checkpoints.
"""

from __future__ import annotations

from ..config import TrainConfig, load_section
from . import _entry


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.train", __doc__)
    p.add_argument("experiment", help="name of the params section train.<experiment> (e.g. mnist)")
    p.add_argument("--data", required=True, help="a prepared data folder (its manifest.json names its kind)")
    p.add_argument("--models", required=True, help="output folder for the trained networks")
    p.add_argument("--reports", required=True, help="output folder for metrics, history and sample grids")
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (resume from it if it holds this run's)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--scorer", default=None, help="the model folder of the data kind's scorer (the judge for "
                                                  "digits, face features for pictures; 1-D values need none)")

    def body(args):
        from ..training.run import RunPaths, train_run

        section = f"train.{args.experiment}"
        cfg = load_section(args.params, section, TrainConfig)
        paths = RunPaths(data=args.data, models=args.models, reports=args.reports, checkpoints=args.checkpoints,
                         scorer=args.scorer)
        result = train_run(cfg, paths, name=args.experiment, where=f"{args.params}: {section}",
                           progress=not args.no_progress)
        final = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.final.items())
        resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
        print(f"train {args.experiment}: {result.steps} steps{resumed} in {result.wall_time_s:.1f} s "
              f"({result.steps_per_s:.1f} steps/s); final {final}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
