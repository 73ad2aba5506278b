"""The evaluation's numerical kernels against the libraries that could replace them: time and agreement.

    python benchmarks/bench_metrics.py [--repeats 5]

- Fréchet distance, 5,000 x 128 features: ganpipe's trace of the matrix square root (two symmetric
  eigendecompositions) against ``scipy.linalg.sqrtm(S_a @ S_b)``;
- KS distance to N(4, 1.25), 1,000 and 100,000 values: the former ``np.vectorize(math.erf)`` CDF,
  ``scipy.stats.kstest`` and ganpipe's (``scipy.special.ndtr``);
- nearest neighbours, 5,000 x 784 queries against 4,000 x 784 references in [-1, 1], 100 of them exact
  copies: the former float32 blocked search, ganpipe's (the same search, distances recomputed from the
  difference) and scikit-learn's brute-force ``NearestNeighbors``, each checked against a float64 search.

Each figure is the median of ``--repeats`` calls on the same inputs. BLAS runs on one thread unless
OPENBLAS_NUM_THREADS is set (on a shared 2-core host, two BLAS threads made every figure noisy by 5-50x).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads OpenBLAS
os.environ.setdefault("TQDM_DISABLE", "1")  # the search's progress bar, read when tqdm loads
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402


def median_ms(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, out


def frechet(repeats: int, rng) -> None:
    import scipy.linalg

    from ganpipe.evaluation.metrics import frechet_distance

    mix = rng.normal(size=(128, 128)) / 8
    a = np.maximum(rng.normal(size=(5000, 128)) @ mix, 0)       # ReLU-like features
    b = np.maximum(rng.normal(0.1, 1.1, size=(5000, 128)) @ mix, 0)

    def with_sqrtm(x, y):
        cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Matrix is singular" on rank-deficient covariances
            trace_root = np.trace(scipy.linalg.sqrtm(cov_x @ cov_y)).real
        return float(((x.mean(0) - y.mean(0)) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * trace_root)

    own_ms, own = median_ms(lambda: frechet_distance(a, b), repeats)
    sp_ms, sp = median_ms(lambda: with_sqrtm(a, b), repeats)
    print(f"Fréchet distance 5000x128: ganpipe {own_ms:7.1f} ms   scipy.linalg.sqrtm {sp_ms:7.1f} ms   "
          f"values {own:.12g} / {sp:.12g} (rel. diff {abs(own - sp) / own:.1e}); "
          f"identical sets {frechet_distance(a, a):.3g} / {with_sqrtm(a, a):.3g}")


def ks(repeats: int, rng) -> None:
    import scipy.stats

    from ganpipe.evaluation.gauss1d import ks_distance

    mean, variance = 4.0, 1.25

    def with_erf(values):
        x = np.sort(values)
        cdf = 0.5 * (1.0 + np.vectorize(math.erf)((x - mean) / math.sqrt(2.0 * variance)))
        n = x.size
        return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))

    for n in (1000, 100_000):
        values = rng.normal(4.1, 1.2, size=n)
        erf_ms, by_erf = median_ms(lambda: with_erf(values), repeats)
        test_ms, by_test = median_ms(
            lambda: float(scipy.stats.kstest(values, "norm", args=(mean, math.sqrt(variance))).statistic), repeats)
        own_ms, own = median_ms(lambda: ks_distance(values, mean, variance), repeats)
        print(f"KS distance n={n:>6}: math.erf {erf_ms:6.2f} ms   scipy.stats.kstest {test_ms:6.2f} ms   "
              f"ganpipe (ndtr) {own_ms:6.2f} ms   values {by_erf!r} / {by_test!r} / {own!r}")


def nearest(repeats: int, rng) -> None:
    from sklearn.neighbors import NearestNeighbors

    from ganpipe.evaluation.metrics import nearest_distances

    refs = ((rng.integers(0, 256, (4000, 784)) / 127.5 - 1) * (rng.random((4000, 784)) < 0.2)).astype(np.float32)
    queries = np.clip(refs[rng.integers(0, 4000, 5000)] + rng.normal(0, 0.3, (5000, 784)), -1, 1).astype(np.float32)
    queries[:100] = refs[:100]  # memorised: exact copies

    def float32_expansion():  # ganpipe before: the distance from |q|^2 + |r|^2 - 2 q.r itself
        r_sq = (refs * refs).sum(1)
        best, where = np.empty(len(queries), np.float32), np.empty(len(queries), np.int64)
        for start in range(0, len(queries), 512):
            block = queries[start:start + 512]
            d2 = (block * block).sum(1)[:, None] + r_sq[None, :] - 2.0 * block @ refs.T
            where[start:start + 512] = d2.argmin(1)
            best[start:start + 512] = np.sqrt(np.clip(d2[np.arange(len(block)), where[start:start + 512]], 0, None))
        return best, where

    def sklearn_brute():
        dist, idx = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(refs).kneighbors(queries)
        return dist[:, 0], idx[:, 0]

    q64, r64 = queries.astype(np.float64), refs.astype(np.float64)
    exact_d, exact_i = np.empty(len(queries)), np.empty(len(queries), np.int64)
    for start in range(0, len(queries), 250):
        d = np.sqrt(((q64[start:start + 250, None, :] - r64[None]) ** 2).sum(-1))
        exact_i[start:start + 250], exact_d[start:start + 250] = d.argmin(1), d.min(1)
    far = exact_d > 0
    for name, fn in (("float32 expansion (before)", float32_expansion),
                     ("ganpipe", lambda: nearest_distances(queries, refs)),
                     ("sklearn brute force", sklearn_brute)):
        ms, (dist, idx) = median_ms(fn, repeats)
        rel = np.max(np.abs(dist[far] - exact_d[far]) / exact_d[far])
        print(f"nearest 5000x784 vs 4000x784, {name:<26} {ms:7.0f} ms   other neighbour than float64: "
              f"{int((idx != exact_i).sum())}   max rel. error {rel:.1e}   copies at up to {dist[:100].max():.1e}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    frechet(args.repeats, rng)
    ks(args.repeats, rng)
    nearest(args.repeats, rng)


if __name__ == "__main__":
    main()
