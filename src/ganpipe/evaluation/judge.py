"""The judge: a CNN classifier trained once on the prepared training digits, with augmentation.

Every experiment's samples are scored by the same frozen judge (a DVC output that changes only
with the data or the judge's params): its 128-wide penultimate layer gives the features for the
"domain FID", KID and precision/recall, its softmax the class probabilities for Inception Score and
mode coverage.

A feature space good enough to rank generators needs a classifier that generalises: three conv
blocks (32, 64, 128 filters), each pass after the first over freshly distorted digits (affine jitter
and elastic distortion, :func:`corruptions.augment_digits`), the learning rate decaying to 0 on a
cosine. On the 4,000 offline training digits it reaches 98.6% on the 1,000 unseen test digits (the
judge of 3 plain epochs: 96%); docs/quality.md has the validation of its scores.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .corruptions import augment_digits_pass

if TYPE_CHECKING:
    import keras

FEATURES_LAYER = "features"
JUDGE_FILE = "classifier.keras"  # in the judge stage's model folder


def build_judge(*, image_shape: tuple[int, ...], num_classes: int = 10) -> keras.Model:
    """Images (batch, H, W, C) in [-1, 1] -> class probabilities (batch, num_classes)."""
    import keras
    from keras import layers

    img = keras.Input(shape=image_shape, name="image")
    x = img
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(x)
    probs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(img, probs, name="judge")


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [-1, 1], the generators' output range; float input is passed through."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return np.asarray(images, np.float32)


def augmented_passes(images: np.ndarray, labels: np.ndarray, *, epochs: int, seed: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The judge's training set: the digits as they are, then ``epochs - 1`` distorted copies (each
    pass seeded from ``seed``), as float32 in [-1, 1] and int64 labels."""
    from ..parallel import ordered_map, worker_count

    x = scale(images)
    seeds = [seed * 1000 + e for e in range(1, epochs)]
    # each pass is seeded on its own, so the passes come out the same on any number of worker processes
    workers = worker_count(len(seeds), min_items=1)
    passes = ordered_map(augment_digits_pass, [(x, s) for s in seeds], desc="distorting digits", unit="pass",
                         workers=workers)
    return np.concatenate([x, *passes]), np.tile(labels.astype(np.int64), epochs)


def train_judge(images: np.ndarray, labels: np.ndarray, *, epochs: int, batch_size: int, seed: int,
                learning_rate: float = 2e-3) -> keras.Model:
    """Fit a fresh judge on uint8 images (N, H, W, C) and labels (N,), seeded: one pass over the
    digits and ``epochs - 1`` over distorted copies, Adam with a cosine decay to 0."""
    from ..lean_imports import import_in_background

    loading = import_in_background("keras")  # on one core, while worker processes distort the digits
    try:
        x, y = augmented_passes(images, labels, epochs=epochs, seed=seed)
    finally:
        loading.join()
    keras = loading.result()

    from ..datasets import shuffled_batches
    from ..progress import fit_progress

    keras.utils.set_random_seed(seed)
    model = build_judge(image_shape=images.shape[1:])
    steps = -(-len(x) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    # one Keras epoch over all passes, shuffled together: ``epochs`` counts passes over the digits
    model.fit(shuffled_batches((x, y), batch_size=batch_size, seed=seed), epochs=1, shuffle=False, verbose=0,
              callbacks=[fit_progress("judge", 1)])
    return model


def judge_outputs(model: keras.Model, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 128), probabilities (n, k)) of images (uint8, or float in [-1, 1]), in batches."""
    from .inference import batched_outputs, part

    both = part(model, FEATURES_LAYER, model.layers[-1].name)  # the features and the probabilities
    feats, probs = batched_outputs(both, images, batch_size=batch_size, prepare=scale)
    return feats.astype(np.float64), probs.astype(np.float64)


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    return float((judge_outputs(model, images)[1].argmax(1) == labels).mean())
