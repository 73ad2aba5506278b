"""Scored snapshots during training: the quality curve, and the best snapshot exported as the run's generator."""

import dataclasses
import json

import numpy as np
import pytest

from ganpipe.data.binfmt import read_split
from ganpipe.training.callbacks import QualitySnapshots, StepCallback

from .test_training import make_gan


class Constructed:
    """A scorer that returns given scores in turn, each with the noise ``std`` (and remembers how many
    samples it saw)."""

    name = "made_up"

    def __init__(self, scores, std=0.1):
        self.scores, self.seen, self.std = list(scores), [], std

    def scored(self, samples):
        self.seen.append(samples.shape)
        return self.scores.pop(0), self.std


class WeightsAt(StepCallback):
    """Keeps the live and EMA generators' weights after each execution."""

    def __init__(self):
        super().__init__()
        self.at = {}

    def on_steps(self, first, done):
        self.at[done] = {"live": self.model.generator.get_weights(), "ema": self.model.ema_generator.get_weights()}


def test_best_snapshot_is_exported_with_its_step_and_kind(mnist_dir):
    from ganpipe.training.run import LAST_FILE, LIVE_FILE, exported_generators

    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=2, ema_half_life=200.0)
    # snapshots after 2, 4, 6 steps, live then ema each: the ema after 4 steps scores best
    scorer = Constructed([9.0, 8.0, 7.0, 3.0, 5.0, 4.0])
    noise = np.zeros((10, 100), np.float32)
    snapshots, weights = QualitySnapshots(2, 6, scorer=scorer, noise=noise), WeightsAt()
    gan.fit(gan.steps(6), epochs=1, verbose=0, shuffle=False, callbacks=[weights, snapshots])
    assert scorer.seen == [(10, 28, 28, 1)] * 6
    assert [row[0] for row in snapshots.curve] == [2, 4, 6]
    assert snapshots.summary() == {"best_step": 4, "best_weights": "ema", "best_made_up": 3.0,
                                   "best_made_up_std": 0.1, "exported": "snapshot"}
    best, beside = exported_generators(gan, snapshots)
    assert sorted(beside) == [LAST_FILE, LIVE_FILE]
    for a, b in zip(best.get_weights(), weights.at[4]["ema"]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(beside[LAST_FILE].get_weights(), weights.at[6]["ema"]):
        np.testing.assert_array_equal(a, b)
    # a snapshot's state survives a checkpoint round trip
    again = QualitySnapshots(2, 6, scorer=scorer, noise=noise)
    again.restore_state(snapshots.state())
    assert again.summary() == snapshots.summary() and again.curve == snapshots.curve


@pytest.mark.parametrize("std, exported", [(0.1, "snapshot"), (0.4, "final")])
def test_a_snapshot_replaces_the_final_ema_only_when_it_leads_by_more_than_the_noise(mnist_dir, std, exported):
    """The EMA after 4 steps leads the final EMA by 1.0: clear with noise 0.1 (2 x 0.14 < 1.0), within
    the noise at 0.4 (2 x 0.57 > 1.0), where the final moving average is exported."""
    from ganpipe.training.run import LIVE_FILE, exported_generators

    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=2, ema_half_life=200.0)
    snapshots, weights = QualitySnapshots(2, 6, scorer=Constructed([9.0, 8.0, 7.0, 3.0, 5.0, 4.0], std=std),
                                          noise=np.zeros((10, 100), np.float32)), WeightsAt()
    gan.fit(gan.steps(6), epochs=1, verbose=0, shuffle=False, callbacks=[weights, snapshots])
    assert snapshots.summary()["exported"] == exported
    exported_net, beside = exported_generators(gan, snapshots)
    expected = weights.at[4]["ema"] if exported == "snapshot" else weights.at[6]["ema"]
    for a, b in zip(exported_net.get_weights(), expected):
        np.testing.assert_array_equal(a, b)
    if exported == "final":
        assert sorted(beside) == [LIVE_FILE]


def test_non_finite_scores_never_win(mnist_dir):
    images = read_split(mnist_dir, "Train").images
    gan = make_gan(images, steps_per_execution=2)
    snapshots = QualitySnapshots(2, 4, scorer=Constructed([float("nan"), 6.0]), noise=np.zeros((4, 100), np.float32))
    gan.fit(gan.steps(4), epochs=1, verbose=0, shuffle=False, callbacks=[snapshots])
    assert snapshots.summary()["best_step"] == 4


def test_gauss1d_run_scores_snapshots_and_says_which_won(tmp_path):
    """A 1-D run is scored by its KS distance (no model needed); metrics.json and generator.json name the winner."""
    from ganpipe.config import TrainConfig, load_section
    from ganpipe.data.gauss1d import write_gauss1d
    from ganpipe.training.run import RunPaths, train_run

    from .conftest import REPO

    write_gauss1d(tmp_path / "g", mean=4.0, variance=1.25, count=2000, seed=0)
    cfg = load_section(REPO / "params.yaml", "train.gauss1d", TrainConfig)
    cfg = dataclasses.replace(cfg, epochs=60, history_interval=20, sample_interval=60, eval_interval=20,
                              eval_samples=500, ema_half_life=5000.0, ema_rampup=0.05, steps_per_execution=10,
                              checkpoint_interval=0)
    train_run(cfg, RunPaths(data=tmp_path / "g", models=tmp_path / "m", reports=tmp_path / "r"), progress=False)
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    spec = json.loads((tmp_path / "m" / "generator.json").read_text())
    assert metrics["best_step"] in (20, 40, 60) and metrics["best_weights"] in ("live", "ema")
    assert 0 <= metrics["best_ks_distance"] <= 1 and metrics["best_ks_distance_std"] > 0
    if metrics["exported"] == "snapshot":
        assert (spec["best_step"], spec["weights"]) == (metrics["best_step"], metrics["best_weights"])
    else:  # the final moving average, which the best snapshot did not beat by more than the noise
        assert spec.get("best_step") is None and spec["weights"] == "ema"
    curve = (tmp_path / "r" / "plots" / "metrics" / "quality" / "ks_distance_live.tsv").read_text().splitlines()
    assert [row.split("\t")[0] for row in curve] == ["step", "20", "40", "60"]
    assert (tmp_path / "r" / "plots" / "metrics" / "quality" / "ks_distance_ema.tsv").is_file()
    # the exported generator scores what metrics.json says, on the same noise
    from ganpipe.evaluation.gauss1d import ks_distance
    from ganpipe.training.export import load_sampler

    generator, loaded = load_sampler(tmp_path / "m")
    values = generator.predict(loaded.noise_batch(cfg.seed, cfg.eval_samples, stream=-2), verbose=0)[:, 0]
    if metrics["exported"] == "snapshot":
        assert ks_distance(values, 4.0, 1.25) == pytest.approx(metrics["best_ks_distance"], abs=1e-4)
    else:
        ema_curve = (tmp_path / "r" / "plots" / "metrics" / "quality" / "ks_distance_ema.tsv").read_text().splitlines()
        assert ks_distance(values, 4.0, 1.25) == pytest.approx(float(ema_curve[-1].split("\t")[1]), abs=1e-4)
