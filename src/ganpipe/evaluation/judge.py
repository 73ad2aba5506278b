"""The judge: a small CNN classifier trained once on the prepared training digits.

Every experiment's samples are scored by the same frozen judge (a DVC output that changes only
with the data or the judge's params): its 128-wide penultimate layer gives the features for the
"domain FID", its softmax the class probabilities for Inception Score and mode coverage.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..progress import fit_progress

FEATURES_LAYER = "features"
JUDGE_FILE = "classifier.keras"  # in the judge stage's model folder


def build_judge(*, image_shape: tuple[int, ...], num_classes: int = 10) -> keras.Model:
    """Images (batch, H, W, C) in [-1, 1] -> class probabilities (batch, num_classes)."""
    img = keras.Input(shape=image_shape, name="image")
    x = img
    for filters in (32, 64):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = layers.Dropout(0.3)(x)
    probs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(img, probs, name="judge")


def scale(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [-1, 1], the generators' output range; float input is passed through."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return np.asarray(images, np.float32)


def train_judge(images: np.ndarray, labels: np.ndarray, *, epochs: int, batch_size: int, seed: int) -> keras.Model:
    """Fit a fresh judge on uint8 images (N, H, W, C) and labels (N,), seeded."""
    keras.utils.set_random_seed(seed)
    model = build_judge(image_shape=images.shape[1:])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(scale(images), labels.astype(np.int64), epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
              callbacks=[fit_progress("judge", epochs)])
    return model


def judge_outputs(model: keras.Model, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 128), probabilities (n, k)) of images (uint8, or float in [-1, 1]), in batches."""
    both = keras.Model(model.input, [model.get_layer(FEATURES_LAYER).output, model.output])
    feats, probs = [], []
    for start in range(0, len(images), batch_size):
        f, p = both(scale(images[start:start + batch_size]), training=False)
        feats.append(keras.ops.convert_to_numpy(f))
        probs.append(keras.ops.convert_to_numpy(p))
    return np.concatenate(feats).astype(np.float64), np.concatenate(probs).astype(np.float64)


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    return float((judge_outputs(model, images)[1].argmax(1) == labels).mean())
