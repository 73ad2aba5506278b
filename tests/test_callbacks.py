"""The training callbacks, one job each: stub GANs where only the step counter and the per-step rows
matter, a few real steps of a small dense GAN on the real digits where the networks do."""

import os
import signal
import threading

import keras
import numpy as np
import pytest

from ganpipe.data.binfmt import read_split
from ganpipe.data.kinds import DIGITS
from ganpipe.models.registry import build_gan_models
from ganpipe.training import callbacks as cb
from ganpipe.training.gan import GAN, STEP_METRICS, ArraySampler, TrainingDiverged, fixed_noise, generate, \
    make_optimizer

from .conftest import gan_cfg


# -- helpers -----------------------------------------------------------------------------------------

class StubGAN:
    """What a StepCallback reads from the GAN: the steps done and every step's STEP_METRICS row.

    Row of step s: d_loss_real s, d_loss_fake s + 0.5, d_acc_real 1, d_acc_fake 0.5, g_loss 2s (exact in float32),
    so the history row of step s is (s, s + 0.25, 0.75, 2s).
    """

    def __init__(self, steps: int, done: int = 0):
        s = np.arange(steps, dtype=np.float32)
        self.table = np.stack([s, s + 0.5, np.ones_like(s), np.full_like(s, 0.5), 2 * s], axis=1)
        self.steps_done = done
        self.stop_training = False

    def step_rows(self, start, stop):
        return self.table[start:stop].copy()


def drive(callback, model, ends) -> None:
    """What fit does to ``callback``: begin at ``model.steps_done``, one batch end per execution end in ``ends``."""
    callback.set_model(model)
    callback.on_train_begin()
    for batch, done in enumerate(ends):
        model.steps_done = done
        callback.on_train_batch_end(batch)


class FakeLive:
    """DVCLive's metric logging, recorded: (step, name, value) per log_metric, "next" per next_step."""

    def __init__(self):
        self.step, self.calls = 0, []

    def log_metric(self, name, value):
        self.calls.append((self.step, name, value))

    def next_step(self):
        self.calls.append("next")


class CountingPart:
    """A checkpoint part whose state() records the GAN's steps done at each save."""

    def __init__(self, gan):
        self.gan, self.saved_at, self.restored = gan, [], None

    def state(self):
        self.saved_at.append(self.gan.steps_done)
        return {"done": np.array([self.gan.steps_done])}

    def restore_state(self, state):
        self.restored = state


class AtStep(keras.callbacks.Callback):
    """Calls ``action(gan)`` at the end of each execution (a real fit's batch end)."""

    def __init__(self, action):
        super().__init__()
        self.action = action

    def on_train_batch_end(self, batch, logs=None):
        self.action(self.model)


@pytest.fixture(scope="module")
def images(mnist_dir):
    return read_split(mnist_dir, "Train").images


def make_gan(images, seed=0, steps_per_execution=2):
    keras.utils.set_random_seed(seed)
    generator, discriminator = build_gan_models("dense", latent_dim=16, image_shape=(28, 28, 1))
    gan = GAN(gan_cfg(batch_size=16, seed=seed), generator, discriminator, ArraySampler(images, DIGITS.to_network))
    gan.compile(make_optimizer("adam", 2e-4, 0.5), make_optimizer("adam", 2e-4, 0.5),
                steps_per_execution=steps_per_execution, jit_compile=False)
    return gan


def fit(gan, until, callbacks):
    gan.fit(gan.steps(until), epochs=1, verbose=0, shuffle=False, callbacks=callbacks)


def values(variables):
    return [np.array(v) for v in variables]


# -- crossed, record_steps ---------------------------------------------------------------------------

@pytest.mark.parametrize("first, done, interval, expected", [
    (0, 4, 4, True),    # lands exactly on a multiple
    (4, 8, 4, True),
    (3, 4, 4, True),    # one step, onto a multiple
    (4, 7, 4, False),   # starts on a multiple: that one was already counted
    (0, 3, 4, False),
    (2, 6, 3, True),    # an execution spanning a multiple
    (7, 13, 3, True),   # spanning two
    (0, 0, 4, False),   # nothing ran
    (0, 100, 0, False),  # interval 0: never
])
def test_crossed_counts_multiples_in_the_half_open_range(first, done, interval, expected):
    assert cb.crossed(first, done, interval) is expected


def test_record_steps_are_the_multiples_below_epochs_and_the_last_step():
    assert cb.record_steps(10, 0) == []
    assert cb.record_steps(9, 3) == [0, 3, 6, 8]
    assert cb.record_steps(7, 3) == [0, 3, 6]  # the last step is a multiple: listed once
    assert cb.record_steps(6, 3) == [0, 3, 5]
    assert cb.record_steps(1, 5) == [0]
    assert cb.record_steps(3, 1) == [0, 1, 2]


# -- DivergenceStop ----------------------------------------------------------------------------------

def test_divergence_stop_names_the_first_bad_step_and_loss():
    gan = StubGAN(12)
    gan.table[6, STEP_METRICS.index("d_loss_real")] = np.nan
    gan.table[5, STEP_METRICS.index("g_loss")] = np.inf  # earlier step: this one is reported
    stop = cb.DivergenceStop()
    with pytest.raises(TrainingDiverged, match=r"step 5: g_loss is inf") as caught:
        drive(stop, gan, [4, 8, 12])
    assert (caught.value.step, caught.value.loss, caught.value.value) == (5, "g_loss", np.inf)
    assert gan.steps_done == 8  # raised at the end of the execution holding step 5, not later


def test_divergence_stop_reports_nan_in_a_later_column_of_the_same_step():
    gan = StubGAN(4)
    gan.table[2, STEP_METRICS.index("d_loss_fake")] = np.nan
    with pytest.raises(TrainingDiverged, match="step 2: d_loss_fake is nan"):
        drive(cb.DivergenceStop(), gan, [1, 2, 3, 4])


def test_divergence_stop_lets_finite_rows_pass():
    gan = StubGAN(12)
    drive(cb.DivergenceStop(), gan, [4, 8, 12])
    assert gan.steps_done == 12


# -- History -----------------------------------------------------------------------------------------

def expected_history(steps):
    return np.array([[s, s + 0.25, 0.75, 2.0 * s] for s in steps])


def test_history_rows_at_the_interval_and_the_last_step_and_every_step_logged():
    gan, history = StubGAN(11), cb.History(interval=3, epochs=11)
    assert history.final == {} and history.history.shape == (0, 4) and history.step_log.shape == (0, 4)
    drive(history, gan, [4, 8, 11])  # executions of 4 steps and a final one of 3
    assert history.history[:, 0].tolist() == cb.record_steps(11, 3) == [0, 3, 6, 9, 10]
    np.testing.assert_array_equal(history.history, expected_history([0, 3, 6, 9, 10]))
    s = np.arange(11.0)
    np.testing.assert_array_equal(history.step_log, np.stack([s, s, s + 0.5, 2 * s], axis=1))
    assert history.final == {"d_loss": 10.25, "d_acc": 0.75, "g_loss": 20.0}


def test_history_state_round_trips_and_replays_rows_to_live():
    gan, first = StubGAN(11), cb.History(interval=3, epochs=11)
    drive(first, gan, [4, 8])
    live = FakeLive()
    resumed = cb.History(interval=3, epochs=11, live=live)
    resumed.restore_state(first.state())
    np.testing.assert_array_equal(resumed.history, first.history)
    np.testing.assert_array_equal(resumed.step_log, first.step_log)
    replayed = [(0, "d_loss", 0.25), (0, "d_acc", 0.75), (0, "g_loss", 0.0), "next",
                (3, "d_loss", 3.25), (3, "d_acc", 0.75), (3, "g_loss", 6.0), "next",
                (6, "d_loss", 6.25), (6, "d_acc", 0.75), (6, "g_loss", 12.0), "next"]
    assert live.calls == replayed
    # the resumed run goes on from step 8 and ends with what a straight run records
    drive(resumed, gan, [11])
    straight = cb.History(interval=3, epochs=11)
    drive(straight, StubGAN(11), [4, 8, 11])
    np.testing.assert_array_equal(resumed.history, straight.history)
    np.testing.assert_array_equal(resumed.step_log, straight.step_log)
    assert live.calls[len(replayed):] == [(9, "d_loss", 9.25), (9, "d_acc", 0.75), (9, "g_loss", 18.0), "next",
                                          (10, "d_loss", 10.25), (10, "d_acc", 0.75), (10, "g_loss", 20.0), "next"]


def test_history_write_gives_the_seed_files(tmp_path):
    history = cb.History(interval=3, epochs=5)
    drive(history, StubGAN(5), [2, 4, 5])
    history.write(tmp_path)
    assert (tmp_path / "history" / "d_loss.txt").read_text() == "0.25\n3.25\n4.25\n"
    assert (tmp_path / "history" / "d_acc.txt").read_text() == "0.75\n0.75\n0.75\n"
    assert (tmp_path / "history" / "g_loss.txt").read_text() == "0.0\n6.0\n8.0\n"
    lines = (tmp_path / "training_log.txt").read_text().splitlines()
    assert lines[0] == "step d_loss_real d_loss_fake g_loss"
    assert lines[1:] == [f"{s} {float(s)!r} {s + 0.5!r} {2.0 * s!r}" for s in range(5)]


# -- SampleGrids, ImageSaver -------------------------------------------------------------------------

def test_sample_grids_drawn_before_training_past_each_multiple_and_at_the_end(images, tmp_path):
    gan = make_gan(images, steps_per_execution=2)
    fixed = fixed_noise(0, 4, gan.latent_dim)
    saver = cb.ImageSaver(tmp_path / "images")
    noise, saved = {"samples": [], "fresh": []}, []

    def grids(kind, interval, noise_for):
        def given(done):
            noise[kind].append((done, noise_for(done)))
            return noise[kind][-1][1]

        def render(generated, done):
            # the generator's output on exactly the noise just handed out, when ``done`` steps are done
            assert gan.steps_done == done == noise[kind][-1][0]
            np.testing.assert_allclose(generated, generate(gan.generator, noise[kind][-1][1]), atol=1e-6)
            return np.repeat(((generated[0] + 1) * 127.5).astype(np.uint8), 3, axis=-1)

        def save(name, pixels):
            saved.append(name)
            return saver(name, pixels)

        save.folder = saver.folder
        return cb.SampleGrids(kind, interval, 7, noise_for=given, render=render, save=save)

    samples = grids("samples", 3, lambda done: fixed)
    fresh = grids("fresh", 4, lambda done: fixed_noise(0, 4, gan.latent_dim, stream=-2 - done))
    # steps_per_execution 2 over 7 steps: executions end at 2, 4, 6 and (a partial one) 7
    fit(gan, 7, [samples, fresh])
    assert gan.steps_done == 7
    assert saved == ["samples/0.png", "fresh/0.png", "samples/4.png", "fresh/4.png", "samples/6.png",
                     "samples/7.png", "fresh/7.png"]
    assert [done for done, _ in noise["samples"]] == [0, 4, 6, 7]
    for _, batch in noise["samples"]:
        np.testing.assert_array_equal(batch, fixed)  # the fixed-noise kind: the same noise every time
    fresh_batches = [batch for _, batch in noise["fresh"]]
    assert not np.array_equal(fresh_batches[0], fresh_batches[1])
    for name in saved:
        data = (samples if name.startswith("samples/") else fresh).written[name]
        assert (tmp_path / "images" / name).read_bytes() == data and data[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_grids_interval_zero_draws_nothing():
    grids = cb.SampleGrids("fresh", 0, 8, noise_for=None, render=None, save=None)
    drive(grids, StubGAN(8), [4, 8])  # would fail calling None if it tried to draw
    assert grids.written == {}


def test_sample_grids_state_keeps_the_png_bytes_and_restore_writes_them_back(tmp_path):
    folder = tmp_path / "images"
    written = {"samples/0.png": b"\x89PNG zero", "samples/4.png": b"\x89PNG four"}
    grids = cb.SampleGrids("samples", 4, 8, noise_for=None, render=None, save=cb.ImageSaver(folder))
    grids.written = dict(written)
    state = grids.state()
    assert all(a.dtype == np.uint8 for a in state.values())
    restored = cb.SampleGrids("samples", 4, 8, noise_for=None, render=None, save=cb.ImageSaver(folder))
    restored.restore_state(state)
    assert restored.written == written
    assert {name: (folder / name).read_bytes() for name in written} == written


def test_image_saver_through_live_requires_lives_image_folder(tmp_path):
    from ganpipe.reporting.figures import save_pixels

    class Live:
        plots_dir = str(tmp_path / "plots")
        logged = []

        def log_image(self, name, pixels):
            self.logged.append(name)
            save_pixels(pixels, tmp_path / "plots" / "images" / name)

    with pytest.raises(ValueError, match="expected"):
        cb.ImageSaver(tmp_path / "elsewhere", Live())
    saver = cb.ImageSaver(tmp_path / "plots" / "images", Live())
    data = saver("samples/3.png", np.zeros((5, 6, 3), np.uint8))
    assert Live.logged == ["samples/3.png"]
    assert data == (tmp_path / "plots" / "images" / "samples" / "3.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"


# -- DiscriminatorReset ------------------------------------------------------------------------------

def test_discriminator_reset_gives_d_the_fresh_weights_and_a_fresh_optimizer(images):
    gan = make_gan(images, steps_per_execution=2)
    twins = {}

    def fresh(step):
        keras.utils.set_random_seed(100 + step)
        twins[step] = build_gan_models("dense", latent_dim=gan.latent_dim, image_shape=(28, 28, 1))[1]
        return twins[step]

    seen = {}

    def look(model):
        seen[model.steps_done] = (values(model.discriminator.weights), int(model.d_optimizer.iterations),
                                  int(model.g_optimizer.iterations))

    fit(gan, 6, [cb.DiscriminatorReset((4,), fresh), AtStep(look)])
    assert list(twins) == [4]
    d_at_4, d_iterations, g_iterations = seen[4]
    for got, want in zip(d_at_4, values(twins[4].weights)):
        np.testing.assert_array_equal(got, want)
    assert (d_iterations, g_iterations) == (0, 4)  # G's optimizer keeps its step count
    assert not all(np.array_equal(a, b) for a, b in zip(seen[2][0], values(twins[4].weights)))
    # two D updates per step after the reset: steps 4 and 5
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (4, 6)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(2e-4)


def test_discriminator_reset_inside_an_execution_is_an_error():
    class Stub(StubGAN):
        def reset_discriminator(self, fresh):
            raise AssertionError("no reset may happen")

    with pytest.raises(ValueError, match="reset_discriminator_at 3 falls inside an execution of 2 steps"):
        drive(cb.DiscriminatorReset((3,), lambda step: None), Stub(6), [2, 4, 6])


# -- StopOnSignal ------------------------------------------------------------------------------------

@pytest.fixture
def sigterm_guard():
    """Our own SIGTERM handler while the test runs (a signal the callback misses cannot kill pytest)."""
    received = []
    guard = lambda signum, frame: received.append(signum)  # noqa: E731
    original = signal.signal(signal.SIGTERM, guard)
    try:
        yield guard, received
    finally:
        signal.signal(signal.SIGTERM, original)


def send_sigterm_at(step, times=1):
    def action(model):
        if model.steps_done == step:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGTERM)
    return AtStep(action)


def test_stop_on_signal_ends_fit_at_the_end_of_the_execution(images, sigterm_guard):
    guard, received = sigterm_guard
    sigint = signal.getsignal(signal.SIGINT)
    gan, stop = make_gan(images, steps_per_execution=2), cb.StopOnSignal()
    fit(gan, 12, [send_sigterm_at(4), stop])
    assert gan.steps_done == 4 and gan.steps_done % 2 == 0
    assert stop.signal == signal.SIGTERM
    assert received == []  # the callback took it, not our guard
    assert signal.getsignal(signal.SIGTERM) is guard and signal.getsignal(signal.SIGINT) is sigint


def test_stop_on_signal_second_signal_interrupts_at_once(images, sigterm_guard):
    guard, _ = sigterm_guard
    gan, stop = make_gan(images, steps_per_execution=2), cb.StopOnSignal()
    try:
        with pytest.raises(KeyboardInterrupt):
            fit(gan, 12, [send_sigterm_at(2, times=2), stop])
    finally:
        stop.restore()
    assert gan.steps_done == 2
    assert signal.getsignal(signal.SIGTERM) is guard


def test_stop_on_signal_leaves_handlers_alone_outside_the_main_thread(sigterm_guard):
    guard, _ = sigterm_guard
    stop = cb.StopOnSignal()
    stop.set_model(StubGAN(4))
    worker = threading.Thread(target=stop.on_train_begin)
    worker.start()
    worker.join()
    assert signal.getsignal(signal.SIGTERM) is guard and stop._previous == {}


# -- Checkpoint --------------------------------------------------------------------------------------

def checkpoints(folder):
    return sorted(p.name for p in folder.glob("ckpt-*.npz")) if folder.is_dir() else []


def test_checkpoint_every_interval_keeps_the_newest_two_and_restores(images, tmp_path):
    folder = tmp_path / "ckpt"
    gan = make_gan(images, steps_per_execution=2)
    history, counting = cb.History(interval=3, epochs=14), CountingPart(gan)
    grids = cb.SampleGrids("samples", 0, 14, noise_for=None, render=None, save=cb.ImageSaver(tmp_path / "a"))
    grids.written = {"samples/0.png": b"\x89PNG zero"}  # a name with a slash, as the real ones
    saver = cb.Checkpoint(folder, interval=4, epochs=14, fingerprint="run-a",
                          parts={"history": history, "count": counting, "samples": grids})
    assert saver.restore(gan) == 0
    listings = {}
    fit(gan, 14, [history, saver, AtStep(lambda model: listings.update({model.steps_done: checkpoints(folder)}))])
    assert counting.saved_at == [4, 8, 12]  # not at 14: the run is done
    assert listings[2] == []
    assert listings[4] == ["ckpt-000000004.npz"]
    assert listings[8] == ["ckpt-000000004.npz", "ckpt-000000008.npz"]
    assert checkpoints(folder) == ["ckpt-000000008.npz", "ckpt-000000012.npz"]

    # a new GAN from the same seed takes the newest checkpoint: steps, every state variable, the parts
    copy = make_gan(images, steps_per_execution=2)
    copy_history, copy_counting = cb.History(interval=3, epochs=14), CountingPart(copy)
    copy_grids = cb.SampleGrids("samples", 0, 14, noise_for=None, render=None, save=cb.ImageSaver(tmp_path / "b"))
    restorer = cb.Checkpoint(folder, interval=4, epochs=14, fingerprint="run-a",
                             parts={"history": copy_history, "count": copy_counting, "samples": copy_grids})
    assert restorer.restore(copy) == 12 and copy.steps_done == 12
    # the reference: the first GAN's state at step 12, from a straight run to 12
    ref = make_gan(images, steps_per_execution=2)
    ref_history = cb.History(interval=3, epochs=14)
    fit(ref, 12, [ref_history])
    assert len(copy.state_variables()) == len(ref.state_variables())
    for a, b in zip(values(copy.state_variables()), values(ref.state_variables())):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(copy_history.history, ref_history.history)
    np.testing.assert_array_equal(copy_history.step_log, ref_history.step_log)
    assert copy_counting.restored["done"].tolist() == [12]
    assert copy_grids.written == grids.written
    assert (tmp_path / "b" / "samples" / "0.png").read_bytes() == b"\x89PNG zero"


def test_checkpoint_of_another_run_is_cleared_by_the_writer_only(images, tmp_path):
    folder = tmp_path / "ckpt"
    gan = make_gan(images, steps_per_execution=2)
    fit(gan, 4, [cb.Checkpoint(folder, interval=2, epochs=8, fingerprint="run-a", parts={})])
    assert checkpoints(folder) == ["ckpt-000000002.npz", "ckpt-000000004.npz"]
    other = make_gan(images, steps_per_execution=2)
    reader = cb.Checkpoint(folder, interval=2, epochs=8, fingerprint="run-b", parts={}, writer=False)
    assert reader.restore(other) == 0 and checkpoints(folder) != []
    writer = cb.Checkpoint(folder, interval=2, epochs=8, fingerprint="run-b", parts={})
    assert writer.restore(other) == 0 and checkpoints(folder) == []
    assert other.steps_done == 0


def test_checkpoint_not_a_writer_writes_nothing(images, tmp_path):
    folder = tmp_path / "ckpt"
    gan = make_gan(images, steps_per_execution=2)
    counting = CountingPart(gan)
    saver = cb.Checkpoint(folder, interval=2, epochs=8, fingerprint="run-a", parts={"count": counting}, writer=False)
    fit(gan, 6, [saver])
    assert counting.saved_at == [2, 4, 6] and saver.saved_at == 6  # the parts' states are still gathered
    assert checkpoints(folder) == [] and not folder.exists()


def test_checkpoint_saves_at_an_early_stop(images, tmp_path):
    folder = tmp_path / "ckpt"
    gan = make_gan(images, steps_per_execution=2)
    counting = CountingPart(gan)
    saver = cb.Checkpoint(folder, interval=4, epochs=14, fingerprint="run-a", parts={"count": counting})

    def stop_at_6(model):
        if model.steps_done == 6:
            model.stop_training = True

    fit(gan, 14, [saver, AtStep(stop_at_6)])
    assert gan.steps_done == 6
    assert counting.saved_at == [4, 6]
    assert checkpoints(folder) == ["ckpt-000000004.npz", "ckpt-000000006.npz"]


def test_checkpoint_stop_on_an_interval_step_saves_once():
    gan = StubGAN(16)
    counting = CountingPart(gan)
    saver = cb.Checkpoint("unused", interval=4, epochs=16, fingerprint="x", parts={"count": counting}, writer=False)
    drive(saver, gan, [2, 4, 6, 8])
    saver.on_train_end()
    assert counting.saved_at == [4, 8]


def test_checkpoint_not_saved_at_the_end_of_a_complete_run():
    gan = StubGAN(8)
    counting = CountingPart(gan)
    saver = cb.Checkpoint("unused", interval=4, epochs=8, fingerprint="x", parts={"count": counting}, writer=False)
    drive(saver, gan, [2, 4, 6, 8])  # 8 is a multiple of the interval, and the end
    saver.on_train_end()
    assert counting.saved_at == [4]


# -- Progress ----------------------------------------------------------------------------------------

def test_progress_counts_every_step_including_a_resumed_start(capsys):
    bar = cb.Progress(epochs=10, enabled=True)
    drive(bar, StubGAN(10, done=3), [4, 8, 10])
    assert bar.bar.n == 10
    bar.on_train_end()
    assert bar.bar is None
    err = capsys.readouterr().err
    assert "10/10" in err and "g_loss=18.000" in err  # the last step's losses: step 9's g_loss is 18


def test_progress_disabled_writes_nothing(capsys):
    bar = cb.Progress(epochs=10, enabled=False)
    drive(bar, StubGAN(10), [4, 8, 10])
    bar.on_train_end()
    bar.close()  # closing twice is harmless
    assert capsys.readouterr() == ("", "")
