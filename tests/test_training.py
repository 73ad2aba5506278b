"""The GAN unit (a keras.Model trained by fit) and the train stage: real steps on the real offline digits."""

import dataclasses
import json
import re

import keras
import numpy as np
import pytest

from ganpipe import threads_setting
from ganpipe.parallel import available_cpus
from ganpipe.data.binfmt import read_split
from ganpipe.data.kinds import DIGITS
from ganpipe.models.registry import build_gan_models
from ganpipe.training.callbacks import record_steps
from ganpipe.training.gan import GAN, ArraySampler, make_optimizer, summarize

from .conftest import gan_cfg, png_size, train_steps


def make_gan(images, seed=0, steps_per_execution=1, batch_size=16, latent_dim=100, jit_compile=False, **kwargs):
    keras.utils.set_random_seed(seed)
    generator, discriminator = build_gan_models("dense", latent_dim=latent_dim, image_shape=(28, 28, 1))
    gan = GAN(gan_cfg(batch_size=batch_size, seed=seed, **kwargs), generator, discriminator,
              ArraySampler(images, DIGITS.to_network))
    gan.compile(make_optimizer("adam", 2e-4, 0.5), make_optimizer("adam", 2e-4, 0.5),
                steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    return gan


def snapshot(model):
    return [np.array(v) for v in model.weights]


def test_one_step_changes_every_weight_of_both_networks(mnist_dir):
    """Keras 3 pitfall: freezing D the old way stops it learning. Here both must move in one step."""
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images)
    g_before, d_before = snapshot(gan.generator), [np.array(v) for v in gan.discriminator.trainable_variables]
    metrics = summarize(train_steps(gan, 1)[-1])
    for var, before in zip(gan.discriminator.trainable_variables, d_before):
        assert not np.allclose(np.array(var), before), f"discriminator weight {var.path} did not change"
    # all generator weights, BatchNorm moving statistics included, move in one step
    for var, before in zip(gan.generator.weights, g_before):
        assert not np.allclose(np.array(var), before), f"generator weight {var.path} did not change"
    assert set(metrics) == {"d_loss", "d_acc", "g_loss"}
    assert all(np.isfinite(v) for v in metrics.values())
    assert 0.0 <= metrics["d_acc"] <= 1.0
    # two separate Adam steps for D (real, then fake), one for G, as the seed's three train_on_batch calls
    assert int(gan.d_optimizer.iterations) == 2 and int(gan.g_optimizer.iterations) == 1
    assert gan.steps_done == 1


def test_same_seed_same_weights_and_losses(mnist_dir):
    images = read_split(mnist_dir, "Train").images
    runs = []
    for _ in range(2):
        gan = make_gan(images, seed=3)
        metrics = summarize(train_steps(gan, 4)[-1])
        runs.append((metrics, snapshot(gan.generator) + snapshot(gan.discriminator)))
    assert runs[0][0] == runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    other = make_gan(images, seed=4)
    assert summarize(train_steps(other, 4)[-1]) != runs[0][0]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_steps_per_execution_changes_speed_not_results(mnist_dir, jit_compile):
    """Batches and noise are keyed by the GAN's step counter, and fit compiles one step whatever the
    grouping: 1, 3 or 4 steps per execution (7 steps: a partial last execution) train bit-identically."""
    images = read_split(mnist_dir, "Train").images
    gans = [make_gan(images, steps_per_execution=k, jit_compile=jit_compile) for k in (1, 3, 4)]
    rows = [train_steps(gan, 7) for gan in gans]
    assert all(r.shape == (7, 5) for r in rows)
    for gan, r in zip(gans[1:], rows[1:]):
        np.testing.assert_array_equal(r, rows[0])
        assert gan.steps_done == 7
        for a, b in zip(snapshot(gan.generator), snapshot(gans[0].generator)):
            np.testing.assert_array_equal(a, b)


def test_fused_execution_refuses_data_other_than_its_steps(mnist_dir):
    """The fused execution reads an execution's first index and count only: anything but GAN.steps()
    (batches of indices, a gap, a start other than steps_done) is a one-line ValueError before any step."""
    import tensorflow as tf

    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=3, jit_compile=True)
    weights = snapshot(gan.generator)
    in_order = r"consecutive step indices from steps_done \(0\); got an execution "
    for data, says in ((tf.data.Dataset.range(6).batch(2), r"one step index per element; got elements TensorSpec"),
                       (np.arange(6), r"one step index per element"),
                       (tf.data.Dataset.range(0, 12, 2), in_order + "of 3 steps from 0 with a gap$"),
                       (tf.data.Dataset.range(3, 9), in_order + "from step 3$")):
        with pytest.raises(ValueError, match=r"^GAN.fit: the fused execution takes GAN.steps\(until\), " + says):
            gan.fit(data, epochs=1, verbose=0, shuffle=False)
        assert gan.steps_done == 0
    for a, b in zip(snapshot(gan.generator), weights):
        np.testing.assert_array_equal(a, b)
    gan.fit(gan.steps(4), epochs=1, verbose=0, shuffle=False)  # and its own data trains, a partial execution too
    assert gan.steps_done == 4
    with pytest.raises(ValueError, match=r"from steps_done \(4\); got an execution from step 0$"):
        gan.fit(tf.data.Dataset.range(0, 3), epochs=1, verbose=0, shuffle=False)


def test_fused_execution_traces_the_step_once(mnist_dir):
    """The XLA program of an execution traces the GAN step once, as its loop's body (tracing and
    compiling a first step outside the loop too doubled the compile time), for full and partial executions."""
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=3, jit_compile=True)
    traced, step = [], gan.train_step

    def counted(data):
        traced.append(data)
        return step(data)

    gan.train_step = counted
    train_steps(gan, 7)  # 3 + 3 + 1
    assert gan.steps_done == 7 and len(traced) == 1


def test_step_rows_keep_every_step_of_an_execution(mnist_dir):
    """The logs of fit show the last step of an execution; the ring buffer has each of them."""
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=5)
    seen = []

    class Logs(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((gan.steps_done, float(logs["g_loss"])))

    gan.fit(gan.steps(12), epochs=1, verbose=0, shuffle=False, callbacks=[Logs()])
    assert [done for done, _ in seen] == [5, 10, 12], "two whole executions and a partial one"
    rows = gan.step_rows(0, 12)
    assert len({tuple(r) for r in rows}) == 12, "twelve different steps"
    for done, g_loss in seen:
        assert rows[done - 1, 4] == pytest.approx(g_loss)
    with pytest.raises(ValueError, match="only the last 64 steps"):
        gan.step_rows(0, 65)


def test_discriminator_learns_to_separate_real_from_noise(mnist_dir):
    """Metrics move: after some D-dominated early steps, D classifies almost everything right."""
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, batch_size=32, steps_per_execution=5, jit_compile=True)
    out = train_steps(gan, 61)
    first, later = summarize(out[0]), summarize(out[-1])
    assert later["d_loss"] < first["d_loss"]
    assert later["d_acc"] >= 0.9


def test_record_steps():
    assert record_steps(30001, 100)[:3] == [0, 100, 200] and record_steps(30001, 100)[-1] == 30000
    assert len(record_steps(30001, 100)) == 301
    assert record_steps(7, 3) == [0, 3, 6]
    assert record_steps(8, 3) == [0, 3, 6, 7]
    assert record_steps(301, 3000) == [0, 300]


def test_run_training_writes_models_history_grids_and_metrics(tmp_path, mnist_dir, tiny_train_cfg):
    from ganpipe.training.run import RunPaths, train_run

    reports, models = tmp_path / "reports", tmp_path / "models"
    grids = reports / "plots" / "images"  # DVCLive's image folder
    (grids / "samples").mkdir(parents=True)
    (grids / "samples" / "999.png").write_bytes(b"stale grid from an earlier, longer run")
    result = train_run(tiny_train_cfg, RunPaths(data=mnist_dir, models=models, reports=reports), progress=False)

    # grids are named by the steps done: before training, every interval, and at the end
    assert sorted(p.name for p in (grids / "samples").iterdir()) == ["0.png", "5.png", "7.png"]
    assert sorted(p.name for p in (grids / "fresh").iterdir()) == ["0.png", "4.png", "7.png"]
    assert len((reports / "training_log.txt").read_text().splitlines()) == 1 + 7
    assert png_size(grids / "samples" / "5.png") == (640, 480)
    assert not (reports / "samples").exists()
    for name in ("d_loss", "d_acc", "g_loss"):
        lines = (reports / "history" / f"{name}.txt").read_text().splitlines()
        assert len(lines) == 3 and all(np.isfinite(float(x)) for x in lines)
        tsv = (reports / "plots" / "metrics" / f"{name}.tsv").read_text().splitlines()
        assert tsv[0] == f"step\t{name}" and [row.split("\t")[0] for row in tsv[1:]] == ["0", "3", "6"]
        assert float(tsv[-1].split("\t")[1]) == pytest.approx(float(lines[-1]))
    metrics = json.loads((reports / "metrics.json").read_text())
    assert metrics["step"] == 6
    assert metrics["g_loss"] == pytest.approx(result.final["g_loss"])
    timing = json.loads((reports / "timing.json").read_text())
    assert timing["steps_per_s"] > 0 and timing["wall_time_s"] > 0 and timing["resumed_from_step"] == 0
    assert timing["threads"] == (threads_setting() or available_cpus())
    # the mnist section keeps an EMA: the average is the generator, the live weights stay beside it
    assert sorted(p.name for p in models.iterdir()) == ["discriminator.keras", "generator.json", "generator.keras",
                                                        "generator_live.keras", "generator_model_7.h5"]
    spec = json.loads((models / "generator.json").read_text())
    assert spec == {"run": "models", "arch": "dense", "model": {}, "latent_dim": 100, "noise": "normal",
                    "output_shape": [28, 28, 1], "output_range": [-1.0, 1.0], "kind": "digits", "seed": 0, "precision": "float32",
                    "steps": 7, "d_resets": [], "weights": "ema", "best_step": None}
    reloaded = keras.models.load_model(models / "generator.keras")
    legacy = keras.models.load_model(models / "generator_model_7.h5", compile=False)
    assert reloaded.input_shape == (None, 100) and reloaded.output_shape == (None, 28, 28, 1)
    assert legacy.count_params() == 1_493_520
    for a, b in zip(reloaded.get_weights(), legacy.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert keras.models.load_model(models / "discriminator.keras").count_params() == 665_089


def test_training_is_reproducible(tmp_path, mnist_dir, tiny_train_cfg):
    from ganpipe.training.run import RunPaths, train_run

    outs = []
    for run in ("a", "b"):
        train_run(tiny_train_cfg, RunPaths(data=mnist_dir, models=tmp_path / run / "m", reports=tmp_path / run / "r"), progress=False)
        gen = keras.models.load_model(tmp_path / run / "m" / "generator.keras")
        outs.append((gen.get_weights(), (tmp_path / run / "r" / "history" / "g_loss.txt").read_bytes(),
                     (tmp_path / run / "r" / "plots" / "images" / "samples" / "7.png").read_bytes()))
    for a, b in zip(outs[0][0], outs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert outs[0][1] == outs[1][1]
    assert outs[0][2] == outs[1][2], "sample grids are byte-identical"


def test_batch_larger_than_data_fails_before_training(tmp_path, mnist_dir, tiny_train_cfg):
    from ganpipe.errors import ConfigError
    from ganpipe.training.run import RunPaths, train_run

    cfg = dataclasses.replace(tiny_train_cfg, batch_size=4001)
    with pytest.raises(ConfigError, match=r"params.yaml: train.mnist.batch_size: 4001 is larger than the 4000 training images"):
        train_run(cfg, RunPaths(data=mnist_dir, models=tmp_path / "m", reports=tmp_path / "r"),
                     progress=False, where="params.yaml: train.mnist")
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_saved_models_are_byte_stable(tmp_path):
    """A .keras file normally embeds its save time; ganpipe's do not, so DVC sees equal models as equal."""
    import time

    from ganpipe.training.export import GeneratorSpec, save_models

    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models("dense", latent_dim=5, image_shape=(28, 28, 1))
    spec = GeneratorSpec(run="t", arch="dense", model={}, latent_dim=5, noise="normal", output_shape=(28, 28, 1),
                         output_range=(-1.0, 1.0), kind="digits", seed=0, precision="float32", steps=3)
    save_models(tmp_path / "a", generator, discriminator, spec=spec)
    time.sleep(1.1)  # the zip and metadata clocks tick in seconds
    save_models(tmp_path / "b", generator, discriminator, spec=spec)
    for name in ("generator.keras", "discriminator.keras", "generator.json", "generator_model_3.h5"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    reloaded = keras.models.load_model(tmp_path / "a" / "generator.keras")
    for a, b in zip(reloaded.get_weights(), generator.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_noisy_label_targets_stay_in_their_ranges():
    """The anime DCGAN's noisy soft labels: uniform in [low, high], fixed by the key, constant when low == high."""
    import tensorflow as tf

    from ganpipe.training.gan import _targets

    key = tf.constant([0, 7], tf.int64)
    real = _targets((0.8, 1.0), key, 4096).numpy()
    assert real.shape == (4096, 1) and real.min() >= 0.8 and real.max() <= 1.0
    assert real.std() > 0.05 and abs(real.mean() - 0.9) < 0.01
    np.testing.assert_array_equal(real, _targets((0.8, 1.0), key, 4096).numpy())
    fake = _targets((0.0, 0.2), tf.constant([0, 8], tf.int64), 4096).numpy()
    assert fake.min() >= 0.0 and fake.max() <= 0.2
    assert np.all(_targets((1.0, 1.0), key, 5).numpy() == 1.0)


def test_nan_loss_stops_training_with_step_and_loss(tmp_path, mnist_dir, tiny_train_cfg, capsys):
    """A huge learning rate makes the losses non-finite: the stage stops, names step and loss, writes no model."""
    import yaml

    from ganpipe.stages import train as train_stage

    from .conftest import REPO

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["train"]["mnist"].update(epochs=50, batch_size=16, lr=1e12, d_lr=1e12, steps_per_execution=5,
                                    history_interval=10, sample_interval=100, checkpoint_interval=0, eval_interval=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    code = train_stage.main(["mnist", "--params", str(tmp_path / "params.yaml"), "--data", str(mnist_dir),
                             "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.search(r"training diverged at step \d+: (d_loss_real|d_loss_fake|g_loss) is (nan|-?inf)", err), err
    assert err.count("\n") == 1, err
    assert not (tmp_path / "m").exists()


def test_ema_of_constant_weights_is_a_no_op(mnist_dir):
    import tensorflow as tf

    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, ema_half_life=1000.0)
    before = snapshot(gan.ema_generator)
    for step in (0, 10, 1000):
        gan._update_ema(tf.constant(step, tf.int64))
    for a, b in zip(snapshot(gan.ema_generator), before):
        np.testing.assert_array_equal(a, b)


def test_ema_lags_a_moving_generator_by_its_half_life(mnist_dir):
    """G jumps from W0 to W1: after half-life / batch updates the average is half way, after twice that 3/4."""
    import tensorflow as tf

    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, batch_size=16, ema_half_life=64.0)  # 4 steps of 16 images
    w0 = snapshot(gan.generator)
    w1 = [w + 1.0 for w in w0]
    gan.generator.set_weights(w1)
    for k, share in ((4, 0.5), (8, 0.75)):
        for step in range(4):
            gan._update_ema(tf.constant(100 + step, tf.int64))
        for a, b, e in zip(w0, w1, snapshot(gan.ema_generator)):
            np.testing.assert_allclose(e, a + share * (b - a), rtol=0, atol=1e-5 * (1 + np.abs(b).max()))


def test_ema_ramp_up_follows_the_start_closely(mnist_dir):
    """With ramp-up the half-life is at most rampup x images seen: early on the average is nearly G."""
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, batch_size=16, ema_half_life=10_000.0, ema_rampup=0.05)
    assert float(gan.ema_beta(0)) < 1e-5  # half-life 0.8 images after the first 16
    assert float(gan.ema_beta(12_499)) == pytest.approx(0.5 ** (16 / 10_000), rel=1e-6)  # 200,000 seen: capped
    plain = make_gan(images, batch_size=16, ema_half_life=10_000.0)
    assert float(plain.ema_beta(0)) == pytest.approx(0.5 ** (16 / 10_000), rel=1e-6)


def test_ema_run_exports_the_average_and_keeps_the_live_weights(tmp_path, mnist_dir, tiny_train_cfg):
    from ganpipe.training.run import RunPaths, train_run

    cfg = dataclasses.replace(tiny_train_cfg, ema_half_life=500.0, ema_rampup=0.05)
    train_run(cfg, RunPaths(data=mnist_dir, models=tmp_path / "m", reports=tmp_path / "r"), progress=False)
    exported = keras.models.load_model(tmp_path / "m" / "generator.keras")
    live = keras.models.load_model(tmp_path / "m" / "generator_live.keras")
    assert json.loads((tmp_path / "m" / "generator.json").read_text())["weights"] == "ema"
    assert any(not np.array_equal(a, b) for a, b in zip(exported.get_weights(), live.get_weights()))
    legacy = keras.models.load_model(tmp_path / "m" / "generator_model_7.h5", compile=False)
    for a, b in zip(legacy.get_weights(), exported.get_weights()):
        np.testing.assert_array_equal(a, b)
