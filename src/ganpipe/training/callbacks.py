"""Everything that happens "every N steps" while a :class:`~ganpipe.training.gan.GAN` fits: one callback per job.

Keras calls a callback once per execution (``steps_per_execution`` steps); :class:`StepCallback`
turns that into the range of GAN steps just run (the GAN's own step counter), and the GAN's ring
buffer gives every step's values. An event due inside an execution happens at its end, named by
the steps done then; intervals that are multiples of ``steps_per_execution`` land exactly.

Callbacks whose records must survive a restart (the history, the grids) expose ``state()`` and
``restore_state()``; :class:`Checkpoint` saves them with the training state.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import keras
import numpy as np

from ..fileio import write_text_atomic
from . import checkpoint as ckpt
from .gan import METRICS, STEP_METRICS, TrainingDiverged, summarize

# training_log.txt's loss columns, picked from each step's STEP_METRICS row
_LOG_COLUMNS = [STEP_METRICS.index(m) for m in ("d_loss_real", "d_loss_fake", "g_loss")]


def record_steps(epochs: int, interval: int) -> list[int]:
    """Steps 0, interval, 2*interval, ... below ``epochs``, plus the last step ``epochs - 1``; [] for interval 0."""
    if interval <= 0:
        return []
    return sorted(set(range(0, epochs, interval)) | {epochs - 1})


def crossed(first: int, done: int, interval: int) -> bool:
    """Did the steps done go past a multiple of ``interval`` in ``(first, done]``? (never for interval 0)"""
    return interval > 0 and done // interval > first // interval


class StepCallback(keras.callbacks.Callback):
    """Base: ``on_start(done)`` when fit begins, ``on_steps(first, done)`` after each execution
    (steps ``first .. done-1`` just ran)."""

    def on_train_begin(self, logs=None):
        self._done = self.model.steps_done
        self.on_start(self._done)

    def on_train_batch_end(self, batch, logs=None):
        first, self._done = self._done, self.model.steps_done
        if self._done > first:
            self.on_steps(first, self._done)

    def on_start(self, done: int) -> None:
        pass

    def on_steps(self, first: int, done: int) -> None:
        pass


class DivergenceStop(StepCallback):
    """Raise TrainingDiverged (step and loss named) at the first non-finite loss; nothing after it runs."""

    def on_steps(self, first, done):
        rows = self.model.step_rows(first, done)
        bad = ~np.isfinite(rows)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise TrainingDiverged(first + int(i), STEP_METRICS[j], float(rows[i, j]))


class History(StepCallback):
    """Every step's losses (``step_log``: step, d_loss_real, d_loss_fake, g_loss) and the seed's history
    rows (``history``: step, d_loss, d_acc, g_loss at steps 0, interval, ... and the last), logged
    to DVCLive's ``live`` too when given."""

    def __init__(self, interval: int, epochs: int, live=None):
        super().__init__()
        self.interval, self.epochs, self.live = int(interval), int(epochs), live
        self._log_parts, self._history = [], []

    @property
    def step_log(self) -> np.ndarray:
        return np.concatenate(self._log_parts or [np.zeros((0, 4))])

    @property
    def history(self) -> np.ndarray:
        return np.array(self._history, dtype=np.float64).reshape(-1, 4)

    @property
    def final(self) -> dict[str, float]:
        """The last history row as {d_loss, d_acc, g_loss} ({} before any)."""
        return dict(zip(METRICS, (float(v) for v in self._history[-1][1:]))) if self._history else {}

    def on_steps(self, first, done):
        rows = self.model.step_rows(first, done)
        steps = np.arange(first, done)
        self._log_parts.append(np.hstack([steps[:, None], rows[:, _LOG_COLUMNS]]))
        for step, row in zip(steps, rows):
            if step % self.interval == 0 or step == self.epochs - 1:
                last = summarize(row)
                self._append([int(step), last["d_loss"], last["d_acc"], last["g_loss"]])

    def _append(self, row) -> None:
        self._history.append(row)
        if self.live is not None:
            self.live.step = int(row[0])
            for name, value in zip(METRICS, row[1:]):
                self.live.log_metric(name, float(value))
            self.live.next_step()

    def state(self) -> dict[str, np.ndarray]:
        return {"history": self.history, "step_log": self.step_log}

    def restore_state(self, state) -> None:
        self._log_parts = [state["step_log"]]
        self._history = []
        for row in state["history"].tolist():
            self._append(row)

    def write(self, reports_dir) -> None:
        """history/{d_loss,d_acc,g_loss}.txt (the seed's files) and training_log.txt under ``reports_dir``."""
        write_history_txt(self.history, Path(reports_dir) / "history")
        write_step_log(self.step_log, Path(reports_dir) / "training_log.txt")


class SampleGrids(StepCallback):
    """A picture of the generator's output (the moving average where the GAN keeps one) before
    training, every ``interval`` steps and at the end.

    ``noise_for(steps_done)`` gives the noise (fixed or fresh), ``render(generated)`` the RGB pixels
    (a grid of images, or a histogram of 1-D values: chosen once by whoever builds the run), and
    ``save(name, pixels)`` writes ``<steps_done>.png`` (DVCLive's ``log_image`` or a plain file).
    The PNGs written so far are kept as state, so a resumed run has them all.
    """

    def __init__(self, kind: str, interval: int, epochs: int, *, noise_for, render, save):
        super().__init__()
        self.kind, self.interval, self.epochs = kind, int(interval), int(epochs)
        self.noise_for, self.render, self.save = noise_for, render, save
        self.written: dict[str, bytes] = {}

    def on_start(self, done):
        if done == 0 and self.interval:
            self._draw(0)

    def on_steps(self, first, done):
        if self.interval and (crossed(first, done, self.interval) or done == self.epochs):
            self._draw(done)

    def _draw(self, done: int) -> None:
        from .gan import generate

        name = f"{self.kind}/{done}.png"
        exported = self.model.ema_generator if self.model.ema_generator is not None else self.model.generator
        self.written[name] = self.save(name, self.render(generate(exported, self.noise_for(done)), done))

    def state(self):
        return {name: np.frombuffer(data, np.uint8) for name, data in self.written.items()}

    def restore_state(self, state) -> None:
        from ..fileio import write_bytes_atomic

        self.written = {name: bytes(array) for name, array in state.items()}
        for name, data in self.written.items():
            write_bytes_atomic(self.save.folder / name, data)


class ImageSaver:
    """``save(name, pixels)`` for :class:`SampleGrids`: ``<folder>/<name>`` as PNG, through DVCLive's
    ``log_image`` when ``live`` is given (its ``plots/images`` folder must be ``folder``); returns the PNG's bytes."""

    def __init__(self, folder, live=None):
        self.folder, self.live = Path(folder), live
        if live is not None and Path(live.plots_dir).resolve() / "images" != self.folder.resolve():
            raise ValueError(f"live writes images to {Path(live.plots_dir) / 'images'}, expected {self.folder}")

    def __call__(self, name: str, pixels: np.ndarray) -> bytes:
        from ..reporting.figures import save_pixels

        if self.live is not None:
            self.live.log_image(name, pixels)
        else:
            save_pixels(pixels, self.folder / name)
        return (self.folder / name).read_bytes()


class QualitySnapshots(StepCallback):
    """Every ``interval`` steps and at the end, score the live generator and, where the GAN keeps one,
    its moving average with the run's ``scorer`` (lower is better) on fixed ``noise``, each with its
    noise (``scorer.scored``: value and bootstrap std); log the curve to DVCLive as
    ``quality/<scorer>_{live,ema}`` and keep the best weights seen.

    ``best`` is (score, steps done, "live" or "ema", weight arrays, std) or None; ``curve`` has rows
    (steps done, live score, ema score or NaN, live std, ema std or NaN). :meth:`chosen` applies the
    export rule: the best snapshot replaces the run's final generator only when it leads by more than
    ``evaluation.NOISE_MARGIN`` standard deviations of the difference (:func:`evaluation.noise_margin`).
    """

    def __init__(self, interval: int, epochs: int, *, scorer, noise, live=None):
        super().__init__()
        self.interval, self.epochs = int(interval), int(epochs)
        self.scorer, self.noise, self.live = scorer, noise, live
        self.best, self.curve, self.seconds = None, [], 0.0

    def on_steps(self, first, done):
        if self.interval and (crossed(first, done, self.interval) or done == self.epochs):
            self.snapshot(done)

    def snapshot(self, done: int) -> dict[str, tuple[float, float]]:
        import time

        from .gan import generate

        started = time.perf_counter()
        nets = {"live": self.model.generator}
        if self.model.ema_generator is not None:
            nets["ema"] = self.model.ema_generator
        scores = {kind: tuple(float(v) for v in self.scorer.scored(generate(net, self.noise)))
                  for kind, net in nets.items()}
        for kind, (score, std) in scores.items():
            if np.isfinite(score) and (self.best is None or score < self.best[0]):
                self.best = (score, done, kind, nets[kind].get_weights(), std)
        nan = (np.nan, np.nan)
        self.curve.append((done, scores["live"][0], scores.get("ema", nan)[0], scores["live"][1],
                           scores.get("ema", nan)[1]))
        self._log(self.curve[-1])
        self.seconds += time.perf_counter() - started
        return scores

    def _log(self, row) -> None:
        if self.live is None:
            return
        self.live.step = int(row[0])
        for kind, value in zip(("live", "ema"), row[1:3]):
            if np.isfinite(value):
                self.live.log_metric(f"quality/{self.scorer.name}_{kind}", float(value))

    def final_score(self) -> tuple[float, float, str] | None:
        """(score, std, "ema" or "live") of the weights a run without snapshots would export (its EMA
        if it keeps one), at the last snapshot, if that snapshot was taken at the end."""
        if not self.curve or int(self.curve[-1][0]) != self.epochs:
            return None
        done, live, ema, live_std, ema_std = self.curve[-1]
        return (ema, ema_std, "ema") if np.isfinite(ema) else (live, live_std, "live")

    def chosen(self):
        """The best snapshot if the run should export it instead of its final weights, else None.

        The best snapshot wins only when its score is lower than the final weights' by more than
        ``evaluation.NOISE_MARGIN`` x sqrt(std_best^2 + std_final^2): a lead within the scores' noise is no lead,
        and the final moving average is the safer generator.
        """
        if self.best is None:
            return None
        final = self.final_score()
        if final is None:
            return self.best
        score, step, kind, _, std = self.best
        if (step, kind) == (self.epochs, final[2]):
            return None
        from ..evaluation import noise_margin

        return self.best if final[0] - score > noise_margin(std, final[1]) else None

    def summary(self) -> dict:
        """What metrics.json says about the snapshots: the best one's step, weights, score and noise,
        and which generator was exported (``snapshot`` or ``final``)."""
        if self.best is None:
            return {}
        score, step, kind, _, std = self.best
        floor = getattr(self.scorer, "floor", None)
        return {"best_step": step, "best_weights": kind, f"best_{self.scorer.name}": round(score, 4),
                f"best_{self.scorer.name}_std": round(std, 4),
                **({f"real_{self.scorer.name}": round(float(floor), 4)} if floor is not None else {}),
                "exported": "snapshot" if self.chosen() is not None else "final"}

    def state(self):
        state = {"curve": np.array(self.curve, np.float64).reshape(-1, 5)}
        if self.best is not None:
            score, step, kind, weights, std = self.best
            state["best_meta"] = np.array([score, step, 1.0 if kind == "ema" else 0.0, std])
            state.update({f"best_{i:04d}": w for i, w in enumerate(weights)})
        return state

    def restore_state(self, state) -> None:
        self.curve = [tuple(row) for row in state["curve"].tolist()]
        for row in self.curve:
            self._log(row)
        self.best = None
        if "best_meta" in state:
            score, step, ema, std = state["best_meta"].tolist()
            weights = [state[k] for k in sorted(k for k in state if k.startswith("best_0"))]
            self.best = (score, int(step), "ema" if ema else "live", weights, std)


class DiscriminatorReset(StepCallback):
    """The "burn-in": before each step in ``at``, D takes a newly initialised twin's weights
    (``fresh(step)``) and its optimizer its state as built."""

    def __init__(self, at, fresh):
        super().__init__()
        self.at, self.fresh = tuple(at), fresh

    def on_steps(self, first, done):
        for step in self.at:
            if first < step <= done:
                if step != done:
                    raise ValueError(f"reset_discriminator_at {step} falls inside an execution of "
                                     f"{done - first} steps: make it a multiple of steps_per_execution")
                self.model.reset_discriminator(self.fresh(step))


class StopOnSignal(keras.callbacks.Callback):
    """Ctrl-C or SIGTERM (``dvc queue kill``, CI cancellation, preemption) ends training at the end of the
    current execution, so :class:`Checkpoint` saves a whole step; a second signal interrupts at once.
    ``signal`` says which one arrived (None: none). Outside the main thread signals are left alone."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.signal, self._previous = None, {}

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signum

    def on_train_begin(self, logs=None):
        self.signal = None
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}

    def on_train_batch_end(self, batch, logs=None):
        if self.signal is not None:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.restore()

    def restore(self) -> None:
        """Put the previous handlers back (also after an exception ends fit)."""
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}


class Checkpoint(StepCallback):
    """A resumable checkpoint every ``interval`` steps, and when training stops before ``epochs``
    (a signal): the GAN's state variables plus the ``parts``' states, under ``folder``.

    :meth:`restore` (call it before ``fit``) loads the newest checkpoint of this ``fingerprint``
    into the GAN and the parts and returns the steps done, or clears another run's checkpoints.
    Only a ``writer`` saves (the chief of a multi-worker run); every worker restores.
    """

    def __init__(self, folder, *, interval: int, epochs: int, fingerprint: str, parts: dict, writer: bool = True):
        super().__init__()
        self.folder, self.interval, self.epochs = Path(folder), int(interval), int(epochs)
        self.fingerprint, self.parts, self.writer = fingerprint, dict(parts), writer
        self.saved_at = None

    def restore(self, gan) -> int:
        found = ckpt.load_latest(self.folder, variables=gan.state_variables(), fingerprint=self.fingerprint)
        if found is None:
            if self.writer:
                ckpt.clear(self.folder)
            return 0
        done, records = found
        for name, part in self.parts.items():
            prefix = f"{name}:"
            part.restore_state({k[len(prefix):]: v for k, v in records.items() if k.startswith(prefix)})
        return done

    def on_steps(self, first, done):
        if done < self.epochs and crossed(first, done, self.interval):
            self.save(done)

    def on_train_end(self, logs=None):
        done = self.model.steps_done
        if done < self.epochs and self.saved_at != done:  # stopped early (a signal): keep the work
            self.save(done)

    def save(self, done: int) -> None:
        records = {f"{name}:{key}": value for name, part in self.parts.items() for key, value in part.state().items()}
        if self.writer:
            ckpt.save(self.folder, steps_done=done, variables=self.model.state_variables(), records=records,
                      fingerprint=self.fingerprint)
        self.saved_at = done


class Progress(StepCallback):
    """A tqdm bar over the run's steps with the last step's losses."""

    def __init__(self, epochs: int, enabled: bool = True):
        super().__init__()
        self.epochs, self.enabled, self.bar = int(epochs), enabled, None

    def on_start(self, done):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, initial=done, unit="step", disable=not self.enabled, mininterval=1.0,
                        dynamic_ncols=True)

    def on_steps(self, first, done):
        last = summarize(self.model.step_rows(done - 1, done)[0])
        self.bar.update(done - first)
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in last.items()}, refresh=False)

    def on_train_end(self, logs=None):
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


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
