"""One number per generator during training, lower is better: the run's own quality scorer.

Picked once, where a run is built, by the kind of data it learns (``DataKind.scorer`` in
ganpipe.data.kinds):

- 28x28x1 digits: the judge's domain FID against the real test digits (judge stage);
- 64x64x3 faces: the face autoencoder's FID against the real faces (face_features stage);
- 1-D values: the Kolmogorov-Smirnov distance to the target normal (the data folder's manifest).

Each scorer is a callable ``samples (n, ...) float32 -> float``; it holds its reference features,
computed once, so a snapshot costs only the generated samples' features. ``scorer.scored(samples)``
gives the score with its noise, ``(value, std)``: the standard deviation over :data:`ROUNDS` bootstrap
resamples, which the best-snapshot export weighs a snapshot's lead against.
"""

from __future__ import annotations


import numpy as np

from . import metrics

# bootstrap resamples behind a snapshot score's noise (each costs one FID: ~10 ms at 2,000 x 128)
ROUNDS = 10


class _FeatureFID:
    """FID of generated samples' features against fixed reference features; subclasses say how
    features are made (:meth:`features`) and may hold ``real`` images other than the reference, whose
    score at the samples' count is the floor (``floor``: None until the first :meth:`scored`)."""

    name = "fid"
    real = None
    floor = None

    def features(self, samples: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, samples: np.ndarray) -> float:
        return metrics.frechet_distance(self.features(samples), self.reference)

    def scored(self, samples: np.ndarray) -> tuple[float, float]:
        if self.floor is None and self.real is not None:  # real images at the same count: FID's bias at this n
            self.floor = self(self.real[:len(samples)])
        return metrics.frechet_bootstrap(self.features(samples), self.reference, rounds=ROUNDS)


class DigitFID(_FeatureFID):
    """Domain FID (the judge's features) of generated digits against the real test digits; the floor
    is that of as many real training digits."""

    name = "digit_fid"

    def __init__(self, judge, test_images: np.ndarray, train_images: np.ndarray | None = None):
        self.judge = judge
        self.reference = self.features(test_images)
        self.real = train_images

    def features(self, samples):
        from .judge import judge_outputs

        return judge_outputs(self.judge, samples)[0]


class FaceFID(_FeatureFID):
    """FID in the face feature space of generated faces against the real faces."""

    name = "face_fid"

    def __init__(self, extractor, faces: np.ndarray):
        self.extractor = extractor
        self.reference = self.features(faces)

    def features(self, samples):
        from .face_features import face_features

        return face_features(self.extractor, samples)


class KSDistance:
    """Kolmogorov-Smirnov distance of generated 1-D values to the target normal (mean, variance)."""

    name = "ks_distance"

    def __init__(self, mean: float, variance: float):
        self.mean, self.variance = float(mean), float(variance)

    def __call__(self, samples: np.ndarray) -> float:
        from .gauss1d import ks_distance

        return ks_distance(np.asarray(samples).reshape(-1), self.mean, self.variance)

    def scored(self, samples: np.ndarray) -> tuple[float, float]:
        """The distance and its standard deviation over :data:`ROUNDS` bootstrap resamples of the samples."""
        from .gauss1d import ks_bootstrap

        values = np.asarray(samples).reshape(-1)
        return self(values), ks_bootstrap(values, self.mean, self.variance, rounds=ROUNDS)
