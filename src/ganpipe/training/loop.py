"""The training loop: runs a :class:`GAN` for ``cfg.epochs`` steps and records what a user looks at.

The compiled steps stop only where something must happen: every ``history_interval`` steps
(losses), ``sample_interval`` (a grid from the fixed noise batch), ``fresh_sample_interval`` (a
grid from fresh noise), ``checkpoint_interval`` (a resumable checkpoint) and at the last step.

With a checkpoint folder, an interrupted run (kill, Ctrl-C) started again resumes from the last
checkpoint and ends with the same weights, history and grids as an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..fileio import ensure_dir, write_text_atomic
from ..reporting.figures import figure_pixels, grid_figure, histogram_figure, save_pixels
from . import checkpoint
from .gan import GAN, METRICS, STEP_METRICS, fixed_noise, summarize

HISTOGRAM_VALUES = 1000  # generated values per histogram of a 1-D GAN
# training_log.txt's loss columns, picked from each step's STEP_METRICS row
_LOG_COLUMNS = [STEP_METRICS.index(m) for m in ("d_loss_real", "d_loss_fake", "g_loss")]
GRID_KINDS = ("samples", "fresh")  # fixed-noise and fresh-noise grids: plots/images/<kind>/<step>.png

# settings that only change speed or what is written, not the training itself
_NOT_IN_FINGERPRINT = {"epochs", "checkpoint_interval"}


@dataclass
class TrainResult:
    """What a run produced. ``history`` rows are (step, d_loss, d_acc, g_loss)."""

    steps: int
    wall_time_s: float
    history: np.ndarray
    final: dict[str, float] = field(default_factory=dict)
    resumed_from: int = 0

    @property
    def steps_per_s(self) -> float:
        run = self.steps - self.resumed_from
        return run / self.wall_time_s if self.wall_time_s > 0 else float("nan")

    def history_columns(self) -> dict[str, list]:
        return {"step": [int(s) for s in self.history[:, 0]],
                **{name: self.history[:, i + 1].tolist() for i, name in enumerate(METRICS)}}


def record_steps(epochs: int, interval: int) -> list[int]:
    """Steps 0, interval, 2*interval, ... below ``epochs``, plus the last step ``epochs - 1``; [] for interval 0."""
    if interval <= 0:
        return []
    return sorted(set(range(0, epochs, interval)) | {epochs - 1})


def train(gan: GAN, cfg, *, reports_dir, checkpoint_dir=None, data_digest: str = "", live=None,
          progress: bool = True, fresh_discriminator=None) -> TrainResult:
    """Train ``gan`` as ``cfg`` (a TrainConfig) says, writing grids under ``reports_dir``.

    Grids go where DVCLive keeps images, ``plots/images/samples/<step>.png`` (fixed noise) and
    ``plots/images/fresh/<step>.png`` (fresh noise) under ``reports_dir``, logged with
    ``live.log_image`` when ``live`` (a ``dvclive.Live`` whose dir is ``reports_dir``) is given, and
    grids left from an earlier run are removed. The history is logged to ``live`` too. Also writes
    ``training_log.txt`` (every step's D real/fake and G losses). With ``checkpoint_dir``, saves checkpoints there and resumes from the newest one that matches
    ``cfg`` and ``data_digest``. Raises TrainingDiverged (last good checkpoint kept) on a NaN loss.
    Before each step in ``cfg.reset_discriminator_at``, D takes the weights of
    ``fresh_discriminator(step)`` (a newly initialised twin) and its optimizer its state as built.

    For 1-D data (the Gaussian GAN) the "grids" are histograms of 1,000 generated values.
    """
    reports = Path(reports_dir)
    images_dir = reports / "plots" / "images"
    if live is not None and Path(live.plots_dir).resolve() != (reports / "plots").resolve():
        raise ValueError(f"live writes to {live.plots_dir}, expected {reports / 'plots'}")
    grid_dirs = {kind: ensure_dir(images_dir / kind) for kind in GRID_KINDS}
    for folder in grid_dirs.values():
        for stale in folder.glob("*.png"):
            stale.unlink()
    epochs = cfg.epochs
    checkpointing = checkpoint_dir is not None and cfg.checkpoint_interval > 0
    kept_grids = {kind: ensure_dir(Path(checkpoint_dir) / "samples" / kind) for kind in GRID_KINDS} if checkpointing else {}
    events = {
        "history": set(record_steps(epochs, cfg.history_interval)),
        "samples": set(record_steps(epochs, cfg.sample_interval)),
        "fresh": set(record_steps(epochs, cfg.fresh_sample_interval)),
        "checkpoint": set(range(cfg.checkpoint_interval - 1, epochs - 1, cfg.checkpoint_interval))
        if checkpointing else set(),
        "reset": {s - 1 for s in cfg.reset_discriminator_at if 0 < s < epochs},  # after s-1, before s
    }
    if events["reset"] and fresh_discriminator is None:
        raise ValueError("reset_discriminator_at needs fresh_discriminator")
    rows, cols = cfg.grid
    images = len(gan.sampler.shape) == 3
    n_show = rows * cols if images else HISTOGRAM_VALUES
    noise = fixed_noise(cfg.seed, n_show, gan.latent_dim, cfg.noise)

    reference = None if images else gan.sampler.data.numpy()[:, 0]  # real values behind each histogram

    def render(kind, step, generated) -> Path:
        if images:
            fig = grid_figure(generated, rows, cols)
        else:
            fig = histogram_figure(generated[:, 0], reference=reference, title=f"step {step}")
        if live is not None:
            live.log_image(f"{kind}/{step}.png", figure_pixels(fig))
        else:
            save_pixels(figure_pixels(fig), grid_dirs[kind] / f"{step}.png")
        return grid_dirs[kind] / f"{step}.png"

    variables = gan.state_variables()

    done, history, log_parts = 0, np.zeros((0, 4)), []  # log_parts: per-chunk rows of training_log.txt
    if checkpoint_dir is not None:
        settings = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in _NOT_IN_FINGERPRINT}
        fingerprint = checkpoint.fingerprint(settings, data_digest)
        resumed = checkpoint.load_latest(checkpoint_dir, variables=variables, fingerprint=fingerprint)
        if resumed is None:
            checkpoint.clear(checkpoint_dir)
        else:
            done, records = resumed
            history, log_parts = records["history"], [records["step_log"]]
            for kind, folder in grid_dirs.items():
                for png in (Path(checkpoint_dir) / "samples" / kind).glob("*.png"):
                    if int(png.stem) < done:
                        shutil.copyfile(png, folder / png.name)
    resumed_from = done
    if live is not None:
        for row in history:
            _log(live, row)

    def save_checkpoint():
        checkpoint.save(checkpoint_dir, steps_done=done, variables=variables,
                        records={"history": history, "step_log": _joined(log_parts)},
                        fingerprint=fingerprint)

    bar = tqdm(total=epochs, initial=done, unit="step", disable=not progress, mininterval=1.0, dynamic_ncols=True)
    started = time.perf_counter()
    last = None
    with _deferred_sigint() as interrupted:
        try:
            for step in sorted(set().union(*events.values()) - set(range(done))):
                out = gan.train_steps(done, step - done + 1)
                log_parts.append(np.hstack([np.arange(done, step + 1)[:, None], out[:, _LOG_COLUMNS]]))
                done, last = step + 1, summarize(out[-1])
                if step in events["history"]:
                    row = np.array([[step, last["d_loss"], last["d_acc"], last["g_loss"]]])
                    history = np.concatenate([history, row])
                    if live is not None:
                        _log(live, row[0])
                for kind in GRID_KINDS:
                    if step in events[kind]:
                        z = noise if kind == "samples" else fixed_noise(cfg.seed, n_show, gan.latent_dim,
                                                                        cfg.noise, stream=-2 - step)
                        path = render(kind, step, gan.generate(z))
                        if checkpointing:
                            shutil.copyfile(path, kept_grids[kind] / path.name)
                if step in events["reset"]:
                    gan.reset_discriminator(fresh_discriminator(step + 1))
                if step in events["checkpoint"]:
                    save_checkpoint()
                bar.update(done - bar.n)
                bar.set_postfix({k: f"{v:.3f}" for k, v in last.items()}, refresh=False)
                if interrupted():
                    if checkpointing and step not in events["checkpoint"]:
                        save_checkpoint()
                    raise KeyboardInterrupt
        finally:
            bar.close()
    wall = time.perf_counter() - started
    if last is None:  # everything was in the checkpoint already
        last = dict(zip(METRICS, history[-1, 1:])) if len(history) else {}
    write_step_log(_joined(log_parts), reports / "training_log.txt")
    return TrainResult(steps=epochs, wall_time_s=wall, history=history, final=last, resumed_from=resumed_from)


@contextlib.contextmanager
def _deferred_sigint():
    """Turn Ctrl-C into a flag read between compiled calls, so a checkpoint never catches a step half-done.

    Yields a function telling whether SIGINT arrived. A second Ctrl-C interrupts at once.
    Outside the main thread (where handlers cannot be set) Ctrl-C behaves as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hits = []

    def handler(signum, frame):
        hits.append(signum)
        if len(hits) > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)


def _joined(log_parts: list) -> np.ndarray:
    """The training log's rows so far (step, d_loss_real, d_loss_fake, g_loss) as one array."""
    return np.concatenate(log_parts or [np.zeros((0, 4))])


def _log(live, row) -> None:
    live.step = int(row[0])
    for name, value in zip(METRICS, row[1:]):
        live.log_metric(name, float(value))
    live.next_step()


def write_history_txt(history: np.ndarray, folder: str | os.PathLike) -> list[Path]:
    """The original program's history files: ``d_loss.txt``, ``d_acc.txt``, ``g_loss.txt``, one value per line."""
    paths = []
    for i, name in enumerate(METRICS):
        path = Path(folder) / f"{name}.txt"
        write_text_atomic(path, "".join(f"{float(v)!r}\n" for v in history[:, i + 1]))
        paths.append(path)
    return paths


def write_step_log(step_log: np.ndarray, path) -> None:
    """The anime program's per-step log: ``step d_loss_real d_loss_fake g_loss`` per line."""
    lines = ["step d_loss_real d_loss_fake g_loss\n"]
    lines += [f"{int(s)} {a!r} {b!r} {g!r}\n" for s, a, b, g in step_log.tolist()]
    write_text_atomic(path, "".join(lines))
