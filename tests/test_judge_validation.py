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
