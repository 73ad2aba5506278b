"""One training run, from its config and its folders to the trained models and the reports.

:func:`train_run` is what the train stage calls (and the tests, benchmarks and notebooks): it reads
the data folder's kind once (ganpipe.data.kinds), which then picks the sample pictures, the snapshot
scorer and the generator's output range, builds the GAN of the config, fits it with one callback
per job, and exports the generator with its ``generator.json``.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, GanpipeError
from ..fileio import ensure_dir, sha256_array, write_json_atomic

LIVE_FILE = "generator_live.keras"  # with an EMA: the generator's own last weights, beside the average
LAST_FILE = "generator_last.keras"  # with scored snapshots: the last weights, beside the best snapshot

# settings that only change how long it runs or what is saved, not the training itself
_NOT_IN_FINGERPRINT = {"epochs", "checkpoint_interval"}


@dataclass(frozen=True)
class RunPaths:
    """A run's folders: its prepared ``data``, the ``models`` and ``reports`` it writes, its resumable
    ``checkpoints`` (None: none), and the ``scorer`` model folder of its data kind (None: the kind
    needs none, or snapshots are not scored)."""

    data: Path
    models: Path
    reports: Path
    checkpoints: Path | None = None
    scorer: Path | None = None

    def __post_init__(self):
        for name in ("data", "models", "reports", "checkpoints", "scorer"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))


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


@dataclass(frozen=True)
class _Setup:
    """Everything a run's parts share: the resolved config, the data and its kind, where it writes."""

    cfg: object
    kind: object
    data: object
    strategy: object
    paths: RunPaths
    name: str
    where: str
    writer: bool = True
    auto: str | None = None    # what xla/precision: auto became on this machine, and why

    @property
    def checkpointing(self) -> bool:
        return self.paths.checkpoints is not None and self.cfg.checkpoint_interval > 0


def train_run(cfg, paths: RunPaths, *, name: str = "", where: str = "train", progress: bool = True,
              callbacks=()) -> TrainResult:
    """Train ``cfg`` (a TrainConfig) on ``paths.data``; write ``paths.models`` and ``paths.reports``.

    ``name`` is the run's name saved in generator.json (default: the models folder's name); ``where``
    (e.g. "params.yaml: train.mnist") prefixes errors about settings that only the data can refute;
    ``callbacks`` are more Keras callbacks for ``fit``. With ``cfg.eval_interval``, snapshots are
    scored by the data kind's scorer (from ``paths.scorer``) and the best one is exported. Under
    ``multi_worker``, a worker other than the chief writes nothing that outlives the call.
    """
    from ..data.kinds import load_training_data
    from . import distribute, hardware

    strategy = distribute.make_strategy(cfg.strategy)  # first: multi_worker must start before any TensorFlow op
    kind, data = load_training_data(paths.data)  # numpy only
    cfg, chosen = hardware.resolve(cfg, image_shape=data.shape[1:])  # before the fingerprint: resume as started
    if chosen:
        print(f"{where}: {chosen}", file=sys.stderr)
    setup = _Setup(cfg, kind, data, strategy, paths, name or paths.models.name, where, auto=chosen)
    check_settings(setup, distribute.replicas(strategy))
    if distribute.is_chief(strategy):
        return _train(setup, progress, callbacks)
    with tempfile.TemporaryDirectory(prefix="ganpipe-worker-") as scratch:  # TF's pattern for non-chief workers
        scratch_paths = dataclasses.replace(paths, models=Path(scratch) / "models", reports=Path(scratch) / "reports")
        return _train(dataclasses.replace(setup, paths=scratch_paths, writer=False), False, callbacks)


def check_settings(setup: _Setup, replicas: int) -> None:
    """ConfigError (prefixed by ``setup.where``) for settings the data or the devices refute."""
    cfg, where, count = setup.cfg, setup.where, len(setup.data)
    if cfg.batch_size > count:
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} is larger than the {count} training "
                          f"{setup.kind.noun} in {setup.paths.data}")
    if cfg.batch_size % replicas:
        raise ConfigError(f"{where}.batch_size: {cfg.batch_size} does not split evenly over the "
                          f"{replicas} replicas of strategy {cfg.strategy}")
    bad_reset = [s for s in cfg.reset_discriminator_at if s % cfg.steps_per_execution]
    if bad_reset:
        raise ConfigError(f"{where}.reset_discriminator_at: step {bad_reset[0]} is not a multiple of "
                          f"steps_per_execution {cfg.steps_per_execution} (a reset happens between executions)")
    if setup.kind.needs_grid and cfg.grid is None:
        raise ConfigError(f"{where}.grid: missing; {setup.kind.name} are drawn as a [rows, cols] grid")


def build_networks_for(setup: _Setup, seed: int):
    """Fresh (generator, discriminator) of the run, initialised from ``seed``; ConfigError naming the section."""
    from .networks import build_networks

    try:
        return build_networks(setup.cfg, setup.data.shape[1:], seed=seed, strategy=setup.strategy)
    except ConfigError as exc:
        raise ConfigError(f"{setup.where}.{exc}") from None


def build_run_gan(setup: _Setup):
    """The compiled GAN of the run (in its strategy's scope) and its discriminator."""
    from . import distribute
    from .gan import ArraySampler, build_gan

    generator, discriminator = build_networks_for(setup, setup.cfg.seed)
    sampler = ArraySampler(setup.data, setup.kind.to_network)  # outside the scope: one copy, read by every replica
    jit = setup.cfg.xla
    if jit and setup.strategy is not None:
        # XLA cannot compile a step that reads per-device copies of the variables (tested on TF 2.21)
        print("xla: off under a tf.distribute strategy (XLA cannot compile distributed variables)", file=sys.stderr)
        jit = False
    with distribute.scope(setup.strategy):
        return build_gan(setup.cfg, generator, discriminator, sampler, jit_compile=jit), discriminator


@dataclass
class _Callbacks:
    """The run's own callbacks: ``steps`` in the order fit calls them, and the ones read afterwards."""

    steps: list
    history: object
    snapshots: object = None
    saver: object = None


def make_callbacks(setup: _Setup, spec, live) -> _Callbacks:
    """History, sample grids, scored snapshots, the D reset and checkpoints, as ``setup.cfg`` asks."""
    from . import callbacks as cb

    cfg = setup.cfg
    history = cb.History(cfg.history_interval, cfg.epochs, live)
    render = setup.kind.renderer(cfg.grid, setup.data)
    save = cb.ImageSaver(setup.paths.reports / "plots" / "images", live)
    fixed = spec.noise_batch(cfg.seed, render.count)
    grids = {"samples": cb.SampleGrids("samples", cfg.sample_interval, cfg.epochs, noise_for=lambda done: fixed,
                                       render=render, save=save),
             "fresh": cb.SampleGrids("fresh", cfg.fresh_sample_interval, cfg.epochs, render=render, save=save,
                                     noise_for=lambda done: spec.noise_batch(cfg.seed, render.count,
                                                                             stream=-3 - done))}
    made = _Callbacks([cb.DivergenceStop(), history, *grids.values()], history)
    if cfg.eval_interval:
        made.snapshots = cb.QualitySnapshots(cfg.eval_interval, cfg.epochs, live=live,
                                             scorer=setup.kind.scorer(setup.paths.data, setup.paths.scorer, setup.data),
                                             noise=spec.noise_batch(cfg.seed, cfg.eval_samples, stream=-2))
        made.steps.append(made.snapshots)
    if cfg.reset_discriminator_at:
        made.steps.append(cb.DiscriminatorReset(cfg.reset_discriminator_at,
                                                lambda step: build_networks_for(setup, cfg.seed + step)[1]))
    if setup.checkpointing:
        made.saver = checkpoint_saver(setup, {"history": history, **grids,
                                              **({"snapshots": made.snapshots} if made.snapshots else {})})
        made.steps.append(made.saver)
    return made


def checkpoint_saver(setup: _Setup, parts: dict):
    """The Checkpoint callback of the run: its fingerprint is the settings that change training and the data."""
    from . import callbacks as cb
    from . import checkpoint

    cfg = setup.cfg
    settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_IN_FINGERPRINT}
    return cb.Checkpoint(setup.paths.checkpoints, interval=cfg.checkpoint_interval, epochs=cfg.epochs,
                         fingerprint=checkpoint.fingerprint(settings, sha256_array(setup.data)), parts=parts,
                         writer=setup.writer)


def _train(setup: _Setup, progress: bool, extra_callbacks) -> TrainResult:
    from ..reporting.live import live_session
    from . import callbacks as cb
    from .export import GeneratorSpec

    cfg, paths = setup.cfg, setup.paths
    gan, discriminator = build_run_gan(setup)
    spec = GeneratorSpec.from_config(cfg, run=setup.name, kind=setup.kind, output_shape=setup.data.shape[1:])
    images_dir = paths.reports / "plots" / "images"
    for folder in ("samples", "fresh"):  # grids of an earlier, longer run
        for stale in ensure_dir(images_dir / folder).glob("*.png"):
            stale.unlink()
    with live_session(paths.reports) as live:
        made = make_callbacks(setup, spec, live)
        resumed = made.saver.restore(gan) if made.saver is not None else 0
        stop, bar = cb.StopOnSignal(), cb.Progress(cfg.epochs, enabled=progress)
        wall = fit_run(setup, gan, [*made.steps, stop, bar, *extra_callbacks], stop, bar)
        live.step = cfg.epochs - 1  # summary only: the last step's losses
        for key, value in made.history.final.items():
            live.summary[key] = value
        best = made.snapshots.summary() if made.snapshots is not None else {}
        live.summary.update(best)
    made.history.write(paths.reports)
    result = TrainResult(steps=cfg.epochs, wall_time_s=wall, final={**made.history.final, **best}, resumed_from=resumed)
    write_timing(paths.reports, result, made.snapshots, setup.auto)
    export_run(setup, gan, discriminator, spec, made.snapshots)
    return result


def fit_run(setup: _Setup, gan, callbacks: list, stop, bar) -> float:
    """Fit ``gan`` to ``setup.cfg.epochs`` steps; its wall time in seconds. GanpipeError on divergence,
    KeyboardInterrupt (saying where the checkpoint is) when a signal stopped it."""
    from .gan import TrainingDiverged

    cfg, ckpt_dir = setup.cfg, setup.paths.checkpoints
    started = time.perf_counter()
    try:
        gan.fit(gan.steps(cfg.epochs), epochs=1, verbose=0, shuffle=False, callbacks=callbacks)
    except TrainingDiverged as exc:
        kept = f"; the last good checkpoint is kept in {ckpt_dir}" if setup.checkpointing else ""
        raise GanpipeError(f"{setup.where}: {exc} (try a lower lr/d_lr){kept}") from None
    finally:
        stop.restore()
        bar.close()
    wall = time.perf_counter() - started
    if stop.signal is not None:
        where_saved = f"; checkpoint at step {gan.steps_done} in {ckpt_dir}, rerun to resume" \
            if setup.checkpointing else " (no checkpoints: checkpoint_interval is 0)"
        raise KeyboardInterrupt(f"stopped by signal {stop.signal}{where_saved}")
    return wall


def write_timing(reports_dir: Path, result: TrainResult, snapshots, auto: str | None) -> None:
    """reports/<run>/timing.json. Timings vary from run to run: kept out of metrics.json (a stage output),
    so an unchanged rerun leaves every output hash in dvc.lock unchanged; dvc.yaml shows it as metrics too."""
    from .. import threads_setting
    from ..parallel import available_cpus

    # the threads TensorFlow split its sums over: part of a float32 result's bits (docs/experiments.md)
    threads = threads_setting() or available_cpus()
    timing = {"steps_per_s": round(result.steps_per_s, 2), "wall_time_s": round(result.wall_time_s, 2),
              "resumed_from_step": result.resumed_from, "threads": threads}
    if snapshots is not None:
        timing["scoring_s"] = round(snapshots.seconds, 2)
    if auto:  # what xla/precision: auto became on this machine, and why (it changes the numbers)
        timing["auto"] = auto
    write_json_atomic(reports_dir / "timing.json", timing)


def export_run(setup: _Setup, gan, discriminator, spec, snapshots) -> None:
    """Save the run's models (the exported generator per :func:`exported_generators`) and clear its checkpoints."""
    from . import checkpoint
    from .export import save_models

    chosen = snapshots.chosen() if snapshots is not None else None
    if chosen is not None:  # a snapshot better than the final weights by more than the noise is the run's generator
        spec = dataclasses.replace(spec, weights=chosen[2], best_step=chosen[1])
    exported, beside = exported_generators(gan, snapshots)
    save_models(setup.paths.models, exported, discriminator, spec=spec, extra=beside)
    if setup.paths.checkpoints is not None and setup.writer:
        checkpoint.clear(setup.paths.checkpoints)


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
