"""The face feature extractor: the encoder of a small convolutional autoencoder trained on the real faces.

Why an autoencoder: the usual FID network (Inception on ImageNet) cannot be downloaded here and
describes photographs, not drawn faces; a randomly initialised network only measures colour and
texture statistics. An autoencoder needs no labels, is trained (seeded) on the very faces the GANs
learn from, and must encode what distinguishes one face from another (hair, eyes, skin, layout)
to rebuild it. Like the digit judge it is a DVC output, trained once per face set and then frozen,
so every anime experiment is measured in the same feature space.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..progress import fit_progress
from .judge import scale

FEATURES_LAYER = "features"
FEATURES_FILE = "autoencoder.keras"  # in the face_features stage's model folder


def build_face_autoencoder(*, image_shape: tuple[int, ...], feature_dim: int) -> keras.Model:
    """Images in [-1, 1] -> their reconstruction, through a ``feature_dim``-wide bottleneck named "features"."""
    img = keras.Input(shape=image_shape, name="image")
    x = img
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    side = image_shape[0] // 8
    x = layers.Flatten()(x)
    code = layers.Dense(feature_dim, name=FEATURES_LAYER)(x)
    y = layers.Dense(side * side * 128)(code)
    y = layers.LeakyReLU(negative_slope=0.2)(y)
    y = layers.Reshape((side, side, 128))(y)
    for filters in (64, 32):
        y = layers.Conv2DTranspose(filters, 4, strides=2, padding="same")(y)
        y = layers.LeakyReLU(negative_slope=0.2)(y)
    out = layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", activation="tanh")(y)
    return keras.Model(img, out, name="face_autoencoder")


def train_face_features(faces: np.ndarray, *, epochs: int, batch_size: int, feature_dim: int, seed: int
                        ) -> tuple[keras.Model, float]:
    """Fit a fresh autoencoder on uint8 faces (N, S, S, 3), seeded; return it and its final mean squared error."""
    if faces.ndim != 4 or faces.shape[1] % 8 or faces.shape[1] != faces.shape[2]:
        raise ValueError(f"expected square faces with a side divisible by 8, got {faces.shape}")
    keras.utils.set_random_seed(seed)
    model = build_face_autoencoder(image_shape=faces.shape[1:], feature_dim=feature_dim)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = scale(faces)
    fit = model.fit(x, x, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
                    callbacks=[fit_progress("face_features", epochs)])
    return model, float(fit.history["loss"][-1])


def face_features(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Bottleneck features (n, feature_dim) float64 of images (uint8, or float in [-1, 1]), in batches."""
    encoder = keras.Model(model.input, model.get_layer(FEATURES_LAYER).output)
    parts = [keras.ops.convert_to_numpy(encoder(scale(images[i:i + batch_size]), training=False))
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float64)
