"""The digit judge as a yardstick, in the cheap form of docs/quality.md's validation: its distance
rises with graded corruptions of real digits and with classes dropped, and real unseen digits sit at
the floor. (benchmarks/validate_digits.py runs the full table and the generator panel.)"""

import numpy as np
import pytest

from ganpipe.data.binfmt import read_split
from ganpipe.evaluation import corruptions, metrics
from ganpipe.evaluation.judge import judge_outputs, scale, train_judge


@pytest.fixture(scope="module")
def judged(mnist_dir):
    train, test = read_split(mnist_dir, "Train"), read_split(mnist_dir, "Test")
    judge = train_judge(train.images, train.labels, epochs=2, batch_size=64, seed=0)
    reference = judge_outputs(judge, test.images)[0]

    def score(images):
        return metrics.kid(judge_outputs(judge, images)[0], reference, subsets=10, subset_size=500)[0]

    return score, scale(train.images[:1500]), train.labels[:1500]


@pytest.mark.parametrize("name", sorted(corruptions.GRADED))
def test_score_rises_with_each_graded_corruption(judged, name):
    score, real, _ = judged
    fn, levels = corruptions.GRADED[name]
    values = [score(fn(real, level, seed=1)) for level in (levels[0], levels[2], levels[3])]
    assert values[0] < values[1] < values[2], (name, values)


def test_score_rises_with_classes_dropped(judged):
    score, real, labels = judged
    rng = np.random.default_rng(0)
    values = []
    for dropped in (0, 2, 5):
        keep = np.flatnonzero(~np.isin(labels, np.arange(dropped)))
        values.append(score(real[rng.choice(keep, len(real))]))
    assert values[0] < values[1] < values[2], values


def test_judge_training_set_is_the_same_on_one_worker_and_on_two(mnist_dir, monkeypatch):
    """The distorted passes are computed on worker processes: the bytes must not depend on how many."""
    from ganpipe.evaluation.judge import augmented_passes

    train = read_split(mnist_dir, "Train")
    images, labels = train.images[:64], train.labels[:64]
    monkeypatch.setenv("GANPIPE_THREADS", "1")
    x1, y1 = augmented_passes(images, labels, epochs=3, seed=2)
    monkeypatch.setenv("GANPIPE_THREADS", "2")
    x2, y2 = augmented_passes(images, labels, epochs=3, seed=2)
    assert x1.shape == (192, *images.shape[1:]) and np.array_equal(y1, np.tile(labels, 3))
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert np.array_equal(x1[:64], scale(images))  # the first pass is the digits as they are
    assert not np.array_equal(x1[64:128], x1[128:])  # each later pass has its own distortion
