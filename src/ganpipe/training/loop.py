"""The training loop: runs a :class:`GAN` for a number of steps, records history, writes sample grids.

The loop stops the compiled steps only where something must be recorded: every
``history_interval`` steps (losses), every ``sample_interval`` steps (a grid from a fixed noise
batch), and at the last step. Between those points the GAN runs uninterrupted.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from ..fileio import ensure_dir, write_text_atomic
from ..reporting.figures import save_image_grid
from .gan import METRICS, GAN, fixed_noise

GRID = (5, 5)


@dataclass
class TrainResult:
    """What a run produced. ``history`` maps 'step' and each of METRICS to per-record lists."""

    steps: int
    wall_time_s: float
    history: dict[str, list] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    sample_files: list[Path] = field(default_factory=list)

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.wall_time_s if self.wall_time_s > 0 else float("nan")


def record_steps(epochs: int, interval: int) -> list[int]:
    """Steps 0, interval, 2*interval, ... below ``epochs``, plus the last step ``epochs - 1``."""
    return sorted(set(range(0, epochs, interval)) | {epochs - 1})


def train(gan: GAN, images: np.ndarray, *, epochs: int, history_interval: int, sample_interval: int,
          samples_dir: str | os.PathLike, live=None, progress: bool = True) -> TrainResult:
    """Train ``gan`` for ``epochs`` steps (one batch each) on uint8 ``images`` (N, H, W, C).

    Writes ``samples_dir/<step>.png`` (a 5x5 grid, 640x480, always from the same noise batch) every
    ``sample_interval`` steps and at the last step, removing grids left from an earlier run first.
    If ``live`` (a ``dvclive.Live``) is given, logs the losses at every history step.
    """
    if len(images) < gan.batch_size:
        raise ValueError(f"batch_size {gan.batch_size} is larger than the {len(images)} training images")
    samples_dir = ensure_dir(samples_dir)
    for stale in samples_dir.glob("*.png"):
        stale.unlink()
    data = tf.constant(images)
    noise = fixed_noise(gan.seed, GRID[0] * GRID[1], gan.latent_dim)
    history_steps = set(record_steps(epochs, history_interval))
    sample_steps = set(record_steps(epochs, sample_interval))
    result = TrainResult(steps=epochs, wall_time_s=0.0, history={"step": [], **{m: [] for m in METRICS}})

    bar = tqdm(total=epochs, unit="step", disable=not progress, mininterval=1.0, dynamic_ncols=True)
    started = time.perf_counter()
    done = 0
    for step in sorted(history_steps | sample_steps):
        metrics = gan.train_steps(data, done, step - done + 1)
        done = step + 1
        if step in history_steps:
            result.history["step"].append(step)
            for name in METRICS:
                result.history[name].append(metrics[name])
            if live is not None:
                live.step = step
                for name in METRICS:
                    live.log_metric(name, metrics[name])
                live.next_step()
        if step in sample_steps:
            path = samples_dir / f"{step}.png"
            save_image_grid(gan.generate(noise), path, *GRID)
            result.sample_files.append(path)
        bar.update(step + 1 - bar.n)
        bar.set_postfix({name: f"{value:.3f}" for name, value in metrics.items()}, refresh=False)
    bar.close()
    result.wall_time_s = time.perf_counter() - started
    result.final = metrics
    return result


def write_history_txt(history: dict[str, list], folder: str | os.PathLike) -> list[Path]:
    """The original program's history files: ``d_loss.txt``, ``d_acc.txt``, ``g_loss.txt``, one value per line."""
    paths = []
    for name in METRICS:
        path = Path(folder) / f"{name}.txt"
        write_text_atomic(path, "".join(f"{float(v)!r}\n" for v in history[name]))
        paths.append(path)
    return paths
