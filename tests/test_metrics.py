"""Each quality metric on constructed inputs whose answer is known."""

import numpy as np
import pytest

from ganpipe.evaluation import metrics


def one_hot(classes, k=10, sure=0.99):
    p = np.full((len(classes), k), (1 - sure) / (k - 1))
    p[np.arange(len(classes)), classes] = sure
    return p


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + 3.0
    assert metrics.frechet_distance(a, shifted) == pytest.approx(8 * 9.0, rel=1e-6)  # ||mu||^2 = 8 * 3^2
    b = rng.normal(size=(2000, 8))  # same distribution, other draws: small but not zero
    assert 0 < metrics.frechet_distance(a, b) < 0.2
    wide = rng.normal(scale=2.0, size=(2000, 8))  # (2 - 1)^2 per dimension in theory
    assert metrics.frechet_distance(a, wide) == pytest.approx(8.0, rel=0.15)


def test_frechet_distance_rejects_bad_shapes():
    with pytest.raises(ValueError, match="equal d"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="n>1"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="n>1, d"):
        metrics.frechet_distance(np.zeros(5), np.zeros(5))


def test_inception_score_bounds():
    k = 10
    balanced = one_hot(np.arange(1000) % k, sure=1.0 - 1e-9)
    assert metrics.inception_score(balanced) == pytest.approx(k, rel=1e-3)
    single = one_hot(np.zeros(1000, int))
    assert metrics.inception_score(single) == pytest.approx(1.0, abs=1e-6)
    unsure = np.full((1000, k), 1.0 / k)
    assert metrics.inception_score(unsure) == pytest.approx(1.0, abs=1e-9)


def test_mode_coverage_and_confidence():
    one_class = one_hot(np.full(500, 7))
    assert metrics.mode_coverage(one_class) == 1
    all_classes = one_hot(np.arange(500) % 10)
    assert metrics.mode_coverage(all_classes) == 10
    # a class under 2% of the confident predictions does not count as covered
    few_threes = one_hot(np.r_[np.zeros(990, int), np.full(10, 3)])
    assert metrics.mode_coverage(few_threes) == 1
    assert metrics.class_histogram(few_threes, confidence=0.9).tolist() == [990, 0, 0, 10, 0, 0, 0, 0, 0, 0]
    assert metrics.confident_share(np.vstack([one_class, np.full((500, 10), 0.1)])) == pytest.approx(0.5)
    assert metrics.mode_coverage(np.full((50, 10), 0.1)) == 0


def test_nearest_distances_match_brute_force():
    rng = np.random.default_rng(1)
    q, r = rng.normal(size=(37, 5)), rng.normal(size=(53, 5))
    dist, idx = metrics.nearest_distances(q, r, batch=8)
    brute = np.sqrt(((q[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    np.testing.assert_array_equal(idx, brute.argmin(1))
    np.testing.assert_allclose(dist, brute.min(1), rtol=1e-4, atol=1e-4)
    self_dist, self_idx = metrics.nearest_distances(r, r, exclude_self=True, batch=7)
    assert np.all(self_idx != np.arange(len(r))) and np.all(self_dist > 0)


def test_memorisation_share_flags_copies_not_new_samples():
    rng = np.random.default_rng(2)
    train = rng.normal(size=(300, 20))
    test = rng.normal(size=(100, 20))
    copies = train[:50] + rng.normal(scale=1e-3, size=(50, 20))
    share, threshold = metrics.memorisation_share(copies, train, test)
    assert share == 1.0 and threshold > 1.0
    fresh = rng.normal(size=(200, 20))
    share_fresh, _ = metrics.memorisation_share(fresh, train, test)
    assert 0.3 < share_fresh < 0.7  # like real test images: about half below their median


def two_class_data(rng):
    """Class 0 tight (thin strokes: close to each other), class 1 spread; 300 train, 100 test of each."""
    def draw(n, c):
        return rng.normal(scale=0.2 if c == 0 else 1.0, size=(n, 20)) + (0.0 if c == 0 else 3.0)
    train = np.concatenate([draw(300, 0), draw(300, 1)])
    test = np.concatenate([draw(100, 0), draw(100, 1)])
    test_labels = np.repeat([0, 1], 100)
    return train, test, test_labels, draw


def test_copying_test_flags_copies_but_not_collapse_onto_a_tight_class():
    rng = np.random.default_rng(4)
    train, test, test_labels, draw = two_class_data(rng)
    test_dist, _ = metrics.nearest_distances(test, train)

    def verdict(images, classes):
        dist, _ = metrics.nearest_distances(images, train)
        blind = float((dist < np.median(test_dist)).mean())
        return metrics.copying_test(dist, classes, test_dist, test_labels), blind

    # collapse: every sample is a new class-0 image, none copied
    collapsed, blind = verdict(draw(200, 0), np.zeros(200, int))
    assert blind > 0.9  # the class-blind share calls almost all of them copies
    assert collapsed["share"] < 0.25 and abs(collapsed["z"]) < 3, collapsed
    # copies of training images of both classes
    copies, _ = verdict(train[::3] + rng.normal(scale=1e-3, size=train[::3].shape), np.repeat([0, 1], 100))
    assert copies["share"] == 1.0 and copies["z"] < -8, copies
    # new images of both classes, like the test set
    fresh, _ = verdict(np.concatenate([draw(150, 0), draw(150, 1)]), np.repeat([0, 1], 150))
    assert 0.03 < fresh["share"] < 0.2 and abs(fresh["z"]) < 3, fresh
    assert set(fresh["thresholds"]) == {0, 1} and fresh["thresholds"][0] < fresh["thresholds"][1]
    # the test set judged against itself: its own quantile, z exactly 0
    itself = metrics.copying_test(test_dist, test_labels, test_dist, test_labels)
    assert itself["share"] <= 0.1 and itself["z"] == 0.0


def test_copying_test_leaves_small_classes_out_of_z_and_uses_the_overall_threshold():
    real_dist, real_class = np.linspace(1, 2, 100), np.repeat([0, 1], 50)
    result = metrics.copying_test(np.array([0.5, 0.5, 0.5]), np.array([2, 2, 2]), real_dist, real_class)
    assert np.isnan(result["z"]) and result["share"] == 1.0
    assert result["thresholds"][2] == float(np.quantile(real_dist, 0.1))


def test_nearest_distances_put_copies_at_zero_and_agree_with_a_float64_search():
    """The float32 search picks the neighbour; its distance is the exact one (a memorised copy is at 0,
    where |q|^2 + |r|^2 - 2 q.r alone leaves ~1e-3 of rounding over 784 pixels)."""
    rng = np.random.default_rng(3)
    refs = rng.uniform(-1, 1, size=(300, 784)).astype(np.float32)
    queries = np.concatenate([refs[:20], refs[20:120] + rng.normal(0, 0.2, (100, 784)).astype(np.float32)])
    dist, idx = metrics.nearest_distances(queries, refs, batch=64)
    exact = np.sqrt(((queries[:, None, :].astype(np.float64) - refs[None].astype(np.float64)) ** 2).sum(-1))
    np.testing.assert_array_equal(idx, exact.argmin(1))
    assert dist.dtype == np.float32 and np.all(dist[:20] == 0.0)
    np.testing.assert_allclose(dist, exact.min(1), rtol=1e-6)


def test_ks_distance_is_scipys_kstest_statistic():
    import math

    import scipy.stats

    from ganpipe.evaluation.gauss1d import ks_distance

    rng = np.random.default_rng(4)
    for values in (rng.normal(4.1, 1.2, 1000), rng.uniform(0, 8, 257), np.full(10, 4.0)):
        expected = scipy.stats.kstest(values, "norm", args=(4.0, math.sqrt(1.25))).statistic
        assert ks_distance(values, 4.0, 1.25) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_kid_is_unbiased_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(1500, 16)), rng.normal(size=(800, 16))
    same, same_std = metrics.kid(a, b, subsets=30, subset_size=500)
    assert abs(same) < 3 * same_std and same_std > 0
    small, _ = metrics.kid(a + 0.2, b, subsets=30, subset_size=500)
    large, large_std = metrics.kid(a + 0.6, b, subsets=30, subset_size=500)
    assert same < small < large and large > 10 * large_std
    # seeded: the same subsets every time
    assert metrics.kid(a, b, subsets=5, subset_size=200, seed=3) == metrics.kid(a, b, subsets=5, subset_size=200, seed=3)
    with pytest.raises(ValueError, match="equal d"):
        metrics.kid(a, b[:, :3])


def test_frechet_bootstrap_spread_shrinks_with_more_samples():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(1000, 8))
    few_fid, few_std = metrics.frechet_bootstrap(rng.normal(size=(200, 8)) + 0.3, ref, rounds=20)
    many_fid, many_std = metrics.frechet_bootstrap(rng.normal(size=(4000, 8)) + 0.3, ref, rounds=20)
    assert few_std > many_std > 0
    assert many_fid == pytest.approx(8 * 0.09, abs=3 * many_std + 0.05)  # ||mu||^2 = 8 x 0.3^2


def test_precision_recall_tell_fidelity_from_diversity():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(1000, 4))
    faithful = rng.normal(size=(1000, 4))
    p, r = metrics.precision_recall(real, faithful)
    assert p > 0.8 and r > 0.8
    # collapse onto one region of the real data: every sample real-looking, most of the data missed
    collapsed = rng.normal(size=(1000, 4)) * 0.2 + real[0]
    p, r = metrics.precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.2
    # samples far from the data: no fidelity
    p, _ = metrics.precision_recall(real, faithful + 6.0)
    assert p < 0.05


def test_feature_scores_name_every_number_and_its_noise():
    rng = np.random.default_rng(3)
    scores = metrics.feature_scores(rng.normal(size=(600, 8)), rng.normal(size=(500, 8)), prefix="domain_")
    assert set(scores) == {"domain_fid", "domain_fid_std", "domain_kid", "domain_kid_std", "domain_precision",
                           "domain_precision_std", "domain_recall", "domain_recall_std"}
    # the shares' binomial errors over the 500 features compared
    p = scores["domain_precision"]
    assert scores["domain_precision_std"] == pytest.approx((p * (1 - p) / 500) ** 0.5, abs=1e-4)
    assert all(isinstance(v, float) for v in scores.values())


def test_kid_spread_is_never_zero_for_small_sets():
    """Subsets as large as both sets would all be the same draw: the spread must still show the noise."""
    rng = np.random.default_rng(4)
    mean, std = metrics.kid(rng.normal(size=(300, 8)), rng.normal(size=(300, 8)), subsets=10, subset_size=1000)
    assert std > 0
