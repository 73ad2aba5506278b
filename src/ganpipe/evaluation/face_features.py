"""The picture scorer's feature extractor: a small convolutional autoencoder trained on the real pictures,
read at every scale of its encoder.

Why an autoencoder: the usual FID network (Inception on ImageNet) cannot be downloaded here and
describes photographs, not drawn faces; a randomly initialised network only measures colour and
texture statistics. An autoencoder needs no labels, is trained (seeded) on the very pictures the GANs
learn from, and must encode what distinguishes one picture from another (hair, eyes, skin, layout)
to rebuild it. Like the digit judge it is a DVC output, trained once per picture set and then frozen,
so every experiment on those pictures is measured in the same feature space.

Why every scale: the bottleneck of an autoencoder trained on squared error encodes the low
frequencies, so a blur of a picture lands next to the picture (blurred faces, and a 100-step
generator's coloured blobs, scored like real ones). The features are the bottleneck plus, for each
of the three encoder convolutions, each channel's mean and mean square over the picture: the first
convolution's filters respond to edges and fine strokes, so their energy falls under blur and rises
under noise, while the deeper ones and the bottleneck keep layout and colour. Every feature is
standardised by its mean and standard deviation over the real pictures (a ``Normalization`` layer in
the saved model), so no group of features dominates the distances by its units. The 512 standardised
features are then projected onto the real pictures' first principal components, each whitened (one per
8 pictures, 16 to 32: a fixed Dense layer "features" in the saved model), so that a Fréchet distance
from a hundred pictures is not mostly the noise of a 512 x 512 covariance.
docs/quality.md ("The picture scorer") has the validation: graded corruptions, mixed halves, dropped
hair colours, briefly trained generators, another picture set, and two independently trained scorers.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from ..datasets import shuffled_batches
from ..progress import fit_progress
from .judge import scale

FEATURES_LAYER = "features"
FEATURES_FILE = "autoencoder.keras"  # in the face_features stage's model folder
CODE_LAYER = "code"
ENCODER_LAYERS = ("encoder_1", "encoder_2", "encoder_3")  # the activations read at every scale
ENCODER_FILTERS = (32, 64, 128)


def build_face_autoencoder(*, image_shape: tuple[int, ...], feature_dim: int) -> keras.Model:
    """Images in [-1, 1] -> their reconstruction, through a ``feature_dim``-wide bottleneck named "code";
    the encoder's activations are the layers :data:`ENCODER_LAYERS`."""
    img = keras.Input(shape=image_shape, name="image")
    x = img
    for filters, name in zip(ENCODER_FILTERS, ENCODER_LAYERS):
        x = layers.Conv2D(filters, 4, strides=2, padding="same")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name=name)(x)
    side = image_shape[0] // 8
    x = layers.Flatten()(x)
    code = layers.Dense(feature_dim, name=CODE_LAYER)(x)
    y = layers.Dense(side * side * ENCODER_FILTERS[-1])(code)
    y = layers.LeakyReLU(negative_slope=0.2)(y)
    y = layers.Reshape((side, side, ENCODER_FILTERS[-1]))(y)
    for filters in ENCODER_FILTERS[-2::-1]:
        y = layers.Conv2DTranspose(filters, 4, strides=2, padding="same")(y)
        y = layers.LeakyReLU(negative_slope=0.2)(y)
    out = layers.Conv2DTranspose(image_shape[-1], 4, strides=2, padding="same", activation="tanh",
                                 name="reconstruction")(y)
    return keras.Model(img, out, name="face_autoencoder")


def _raw_features(autoencoder: keras.Model) -> keras.KerasTensor:
    """The bottleneck, then each encoder activation's per-channel mean and mean square (unscaled)."""
    parts = [autoencoder.get_layer(CODE_LAYER).output]
    for name in ENCODER_LAYERS:
        act = autoencoder.get_layer(name).output
        parts.append(layers.GlobalAveragePooling2D(name=f"{name}_mean")(act))
        parts.append(layers.GlobalAveragePooling2D(name=f"{name}_square")(layers.Multiply()([act, act])))
    return layers.Concatenate(name="multiscale")(parts)


def multiscale_width(feature_dim: int) -> int:
    """How many multi-scale features (before the projection) a bottleneck of ``feature_dim`` gives."""
    return feature_dim + 2 * sum(ENCODER_FILTERS)


def feature_width(feature_dim: int, pictures: int) -> int:
    """How many features :func:`face_features` gives for a bottleneck of ``feature_dim``, the scorer
    trained on ``pictures`` real pictures: the principal components kept (see :data:`MAX_COMPONENTS`)."""
    wanted = max(MIN_COMPONENTS, min(MAX_COMPONENTS, pictures // PICTURES_PER_COMPONENT))
    return max(1, min(wanted, pictures - 1, multiscale_width(feature_dim)))


# The multi-scale features are many (512) for the pictures a user may have (a folder of ~200 icons):
# a Fréchet distance of 512 features from 107 pictures is mostly the noise of its covariances (Tango
# icons: real floor 34 ± 23, a 100-step generator's blurs 99 ± 42). So the scorer keeps the real
# pictures' first k principal components, each scaled to unit variance (whitened), k = one per
# PICTURES_PER_COMPONENT pictures, at least MIN_COMPONENTS, at most MAX_COMPONENTS (and fewer than the
# pictures). Measured on the demo faces and Tango icons: 64 whitened components cut the agreement of two
# independently trained scorers to 0.84, 32 keep 0.96; 26 for 107 icons leave the blurs 2.4x the floor,
# 16 put them 3.7-4.8x and 3.5-5 stds above it; 4 for 39 faces no longer see blur, 12-16 do:
# docs/quality.md ("The picture scorer").
MIN_COMPONENTS = 16
MAX_COMPONENTS = 32
PICTURES_PER_COMPONENT = 8


def with_features(autoencoder: keras.Model, faces: np.ndarray, batch_size: int = 256) -> keras.Model:
    """The scorer to save: ``autoencoder``'s image -> [reconstruction, features]. The multi-scale
    features are standardised by their mean and variance over ``faces`` (uint8 or [-1, 1] floats), then
    projected onto those faces' first :func:`feature_width` principal components, each divided by its
    standard deviation over them (layer "features": a fixed Dense layer, saved with the model)."""
    raw = keras.Model(autoencoder.input, _raw_features(autoencoder))
    values = np.concatenate([keras.ops.convert_to_numpy(raw(scale(faces[i:i + batch_size]), training=False))
                             for i in range(0, len(faces), batch_size)]).astype(np.float64)
    mean, variance = values.mean(0), np.maximum(values.var(0), 1e-12)
    standard = (values - mean) / np.sqrt(variance)
    k = feature_width(autoencoder.get_layer(CODE_LAYER).units, len(faces))
    centre = standard.mean(0)
    _, singular, axes = np.linalg.svd(standard - centre, full_matrices=False)
    spread = np.maximum(singular[:k] / np.sqrt(len(faces) - 1), 1e-6)
    axes = axes[:k] * np.where(axes[:k].sum(1, keepdims=True) < 0, -1.0, 1.0)  # a fixed sign per component
    kernel = axes.T / spread
    norm = layers.Normalization(mean=mean, variance=variance, name="standardised")
    project = layers.Dense(k, name=FEATURES_LAYER, trainable=False)
    out = project(norm(raw.output))
    project.set_weights([kernel.astype(np.float32), (-centre @ kernel).astype(np.float32)])
    return keras.Model(autoencoder.input, [autoencoder.output, out], name="face_scorer")


def train_face_features(faces: np.ndarray, *, epochs: int, batch_size: int, feature_dim: int, seed: int
                        ) -> tuple[keras.Model, float]:
    """Fit a fresh autoencoder on uint8 faces (N, S, S, 3), seeded; return the scorer (:func:`with_features`)
    and the autoencoder's final mean squared error."""
    if faces.ndim != 4 or faces.shape[1] % 8 or faces.shape[1] != faces.shape[2]:
        raise ValueError(f"expected square faces with a side divisible by 8, got {faces.shape}")
    keras.utils.set_random_seed(seed)
    model = build_face_autoencoder(image_shape=faces.shape[1:], feature_dim=feature_dim)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x = scale(faces)
    fit = model.fit(shuffled_batches((x, x), batch_size=batch_size, seed=seed), epochs=epochs, shuffle=False,
                    verbose=0, callbacks=[fit_progress("face_features", epochs)])
    return with_features(model, x), float(fit.history["loss"][-1])


def face_features(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Whitened principal components of the standardised multi-scale features (n, :func:`feature_width`)
    float64 of images (uint8, or float in [-1, 1]), in batches; ``model`` is the scorer
    :func:`train_face_features` returns (or loaded)."""
    from .inference import batched_outputs, part

    return batched_outputs(part(model, FEATURES_LAYER), images, batch_size=batch_size,
                           prepare=scale)[0].astype(np.float64)
