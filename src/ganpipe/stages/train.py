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

import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import TrainConfig, load_section
from ..errors import ConfigError, GanpipeError
from ..fileio import ensure_dir, sha256_array, write_json_atomic
from . import _entry

LIVE_FILE = "generator_live.keras"  # with an EMA: the generator's own last weights, beside the average
LAST_FILE = "generator_last.keras"  # with scored snapshots: the last weights, beside the best snapshot

# settings that only change how long it runs or what is saved, not the training itself
_NOT_IN_FINGERPRINT = {"epochs", "checkpoint_interval"}


@dataclass
class TrainResult:
    """What a run produced: steps, this process's wall time, the final losses, where it resumed."""

    steps: int
    wall_time_s: float
    final: dict
    resumed_from: int = 0

    @property
    def steps_per_s(self) -> float:
        run = self.steps - self.resumed_from
        return run / self.wall_time_s if self.wall_time_s > 0 else float("nan")


def run_training(cfg: TrainConfig, *, data_dir, models_dir, reports_dir, checkpoint_dir=None, name: str = "",
                 progress: bool = True, where: str = "train", callbacks=(), judge_dir=None,
                 features_dir=None) -> TrainResult:
    """Train from ``cfg`` on ``data_dir``'s training data; write models and reports. Returns a TrainResult.

    ``name`` is the run's name saved in generator.json; ``where`` (e.g. "params.yaml: train.mnist")
    prefixes errors about settings that only the data can refute; ``callbacks`` are more Keras
    callbacks for ``fit``. With ``cfg.eval_interval``, snapshots are scored by the scorer of the
    data's kind (``judge_dir`` for digits, ``features_dir`` for faces; 1-D runs need neither)
    and the best one is exported. Under ``multi_worker``, a worker other than the chief writes nothing that
    outlives the call (it reads the chief's checkpoints).
    """
    from ..training import distribute, hardware

    strategy = distribute.make_strategy(cfg.strategy)  # first: multi_worker must start before any TensorFlow op
    cfg, chosen = hardware.resolve(cfg)  # before the fingerprint: a run resumes only as it started
    if chosen:
        print(f"{where}: {chosen}", file=sys.stderr)
    name = name or Path(models_dir).name
    scorers = {"judge_dir": judge_dir, "features_dir": features_dir}
    if distribute.is_chief(strategy):
        return _train(cfg, strategy, data_dir=data_dir, models_dir=models_dir, reports_dir=reports_dir,
                      checkpoint_dir=checkpoint_dir, name=name, progress=progress, where=where, callbacks=callbacks,
                      scorers=scorers, auto=chosen)
    with tempfile.TemporaryDirectory(prefix="ganpipe-worker-") as scratch:  # TF's pattern for non-chief workers
        return _train(cfg, strategy, data_dir=data_dir, models_dir=Path(scratch) / "models",
                      reports_dir=Path(scratch) / "reports", checkpoint_dir=checkpoint_dir, name=name,
                      progress=False, where=where, callbacks=callbacks, writer=False, scorers=scorers, auto=chosen)


def _train(cfg: TrainConfig, strategy, *, data_dir, models_dir, reports_dir, checkpoint_dir, name, progress, where,
           callbacks, scorers, writer=True, auto=None) -> TrainResult:
    from ..data.training import load_training_images
    from ..reporting.figures import renderer_for
    from ..reporting.live import live_session
    from ..training import callbacks as cb
    from ..training import checkpoint, distribute
    from ..training.export import GeneratorSpec, save_models
    from ..training.gan import ArraySampler, TrainingDiverged, build_gan
    from ..training.networks import build_networks

    images = load_training_images(data_dir)
    replicas = distribute.replicas(strategy)
    if cfg.batch_size > len(images):
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} is larger than the {len(images)} training images in {data_dir}")
    if cfg.batch_size % replicas:
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} does not split evenly over the "
                          f"{replicas} replicas of strategy {cfg.strategy}")
    bad_reset = [s for s in cfg.reset_discriminator_at if s % cfg.steps_per_execution]
    if bad_reset:
        raise ConfigError(f"{where}.reset_discriminator_at: step {bad_reset[0]} is not a multiple of "
                          f"steps_per_execution {cfg.steps_per_execution} (a reset happens between executions)")

    def build(seed):
        try:
            return build_networks(cfg, images.shape[1:], seed=seed, strategy=strategy)
        except ConfigError as exc:
            raise ConfigError(f"{where}.{exc}") from None

    generator, discriminator = build(cfg.seed)
    sampler = ArraySampler(images)  # outside the scope: one copy of the data, read by every replica
    jit = cfg.xla
    if jit and strategy is not None:
        # XLA cannot compile a step that reads per-device copies of the variables (tested on TF 2.21)
        print("xla: off under a tf.distribute strategy (XLA cannot compile distributed variables)", file=sys.stderr)
        jit = False
    with distribute.scope(strategy):
        gan = build_gan(cfg, generator, discriminator, sampler, jit_compile=jit)
    spec_kwargs = dict(run=name, arch=cfg.arch, model=dict(cfg.model), latent_dim=cfg.latent_dim, noise=cfg.noise,
                       output_shape=tuple(int(d) for d in images.shape[1:]),
                       output_range=(-1.0, 1.0) if images.ndim == 4 else None, seed=cfg.seed,
                       precision=cfg.precision, steps=cfg.epochs,
                       d_resets=tuple(s for s in cfg.reset_discriminator_at if s < cfg.epochs),
                       weights="ema" if cfg.ema_half_life > 0 else "live")
    spec = GeneratorSpec(**spec_kwargs)

    reports_dir = Path(reports_dir)
    images_dir = reports_dir / "plots" / "images"
    for kind in ("samples", "fresh"):  # grids of an earlier, longer run
        for stale in ensure_dir(images_dir / kind).glob("*.png"):
            stale.unlink()
    with live_session(reports_dir) as live:
        history = cb.History(cfg.history_interval, cfg.epochs, live)
        render = renderer_for(images.shape[1:], cfg.grid, images)
        save = cb.ImageSaver(images_dir, live)
        fixed = spec.noise_batch(cfg.seed, render.count)
        grids = {"samples": cb.SampleGrids("samples", cfg.sample_interval, cfg.epochs, noise_for=lambda done: fixed,
                                           render=render, save=save),
                 "fresh": cb.SampleGrids("fresh", cfg.fresh_sample_interval, cfg.epochs, render=render, save=save,
                                         noise_for=lambda done: spec.noise_batch(cfg.seed, render.count,
                                                                                 stream=-3 - done))}
        stop, bar = cb.StopOnSignal(), cb.Progress(cfg.epochs, enabled=progress)
        steps = [cb.DivergenceStop(), history, *grids.values()]
        snapshots = None
        if cfg.eval_interval:
            from ..evaluation.scorers import scorer_for

            snapshots = cb.QualitySnapshots(cfg.eval_interval, cfg.epochs, live=live,
                                            scorer=scorer_for(data_dir, **scorers),
                                            noise=spec.noise_batch(cfg.seed, cfg.eval_samples, stream=-2))
            steps.append(snapshots)
        if cfg.reset_discriminator_at:
            steps.append(cb.DiscriminatorReset(cfg.reset_discriminator_at, lambda step: build(cfg.seed + step)[1]))
        resumed = 0
        if checkpoint_dir is not None and cfg.checkpoint_interval:
            settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_IN_FINGERPRINT}
            saver = cb.Checkpoint(checkpoint_dir, interval=cfg.checkpoint_interval, epochs=cfg.epochs,
                                  fingerprint=checkpoint.fingerprint(settings, sha256_array(images)),
                                  parts={"history": history, **grids,
                                         **({"snapshots": snapshots} if snapshots else {})}, writer=writer)
            resumed = saver.restore(gan)
            steps.append(saver)
        started = time.perf_counter()
        try:
            gan.fit(gan.steps(cfg.epochs), epochs=1, verbose=0, shuffle=False,
                    callbacks=[*steps, stop, bar, *callbacks])
        except TrainingDiverged as exc:
            kept = f"; the last good checkpoint is kept in {checkpoint_dir}" if checkpoint_dir and cfg.checkpoint_interval else ""
            raise GanpipeError(f"{where}: {exc} (try a lower lr/d_lr){kept}") from None
        finally:
            stop.restore()
            bar.close()
        wall = time.perf_counter() - started
        if stop.signal is not None:
            where_saved = f"; checkpoint at step {gan.steps_done} in {checkpoint_dir}, rerun to resume" \
                if checkpoint_dir is not None and cfg.checkpoint_interval else " (no checkpoints: checkpoint_interval is 0)"
            raise KeyboardInterrupt(f"stopped by signal {stop.signal}{where_saved}")
        live.step = cfg.epochs - 1  # summary only: the last step's losses
        for key, value in history.final.items():
            live.summary[key] = value
        best = snapshots.summary() if snapshots is not None else {}
        live.summary.update(best)
    history.write(reports_dir)
    chosen = snapshots.chosen() if snapshots is not None else None
    if chosen is not None:  # a snapshot better than the final weights by more than the noise is the run's generator
        spec = GeneratorSpec(**{**spec_kwargs, "weights": chosen[2], "best_step": chosen[1]})
    # timings vary from run to run: kept out of metrics.json (a stage output), so an unchanged
    # rerun leaves every output hash in dvc.lock unchanged; dvc.yaml shows this file as metrics too
    result = TrainResult(steps=cfg.epochs, wall_time_s=wall, final={**history.final, **best}, resumed_from=resumed)
    timing = {"steps_per_s": round(result.steps_per_s, 2), "wall_time_s": round(result.wall_time_s, 2),
              "resumed_from_step": resumed}
    if snapshots is not None:
        timing["scoring_s"] = round(snapshots.seconds, 2)
    if auto:  # what xla/precision: auto became on this machine, and why (it changes the numbers)
        timing["auto"] = auto
    write_json_atomic(reports_dir / "timing.json", timing)
    exported, beside = exported_generators(gan, snapshots)
    save_models(models_dir, exported, discriminator, spec=spec, extra=beside)
    if checkpoint_dir is not None and writer:
        checkpoint.clear(checkpoint_dir)
    return result


def exported_generators(gan, snapshots):
    """(the run's generator, {file name: more generators to keep beside it}): the best snapshot if it
    beats the final weights by more than the scores' noise (:meth:`QualitySnapshots.chosen`), else the
    moving average if kept, else the live weights; the last weights of the others beside it."""
    import keras

    extra = {}
    final = gan.ema_generator if gan.ema_generator is not None else gan.generator
    if gan.ema_generator is not None:
        extra[LIVE_FILE] = gan.generator
    chosen = snapshots.chosen() if snapshots is not None else None
    if chosen is None:
        return final, extra
    best = keras.models.clone_model(gan.generator)
    best.set_weights(chosen[3])
    extra[LAST_FILE] = final
    return best, extra


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.train", __doc__)
    p.add_argument("experiment", help="name of the params section train.<experiment> (e.g. mnist)")
    p.add_argument("--data", required=True, help="data folder: MNIST-style .bin files, faces.bin or samples.bin")
    p.add_argument("--models", required=True, help="output folder for the trained networks")
    p.add_argument("--reports", required=True, help="output folder for metrics, history and sample grids")
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (resume from it if it holds this run's)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--judge", default=None, help="the judge stage's model folder: scores digit snapshots")
    p.add_argument("--features", default=None, help="the face_features stage's model folder: scores face snapshots")

    def body(args):
        section = f"train.{args.experiment}"
        cfg = load_section(args.params, section, TrainConfig)
        result = run_training(cfg, data_dir=args.data, models_dir=args.models, reports_dir=args.reports,
                              checkpoint_dir=args.checkpoints, name=args.experiment, progress=not args.no_progress,
                              where=f"{args.params}: {section}", judge_dir=args.judge, features_dir=args.features)
        final = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in result.final.items())
        resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
        print(f"train {args.experiment}: {result.steps} steps{resumed} in {result.wall_time_s:.1f} s "
              f"({result.steps_per_s:.1f} steps/s); final {final}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
