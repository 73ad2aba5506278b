"""The smaller dense GANs of the seed programs, and the 1-D Gaussian GAN.

Registry entries (``arch`` in params.yaml, options in ``model``):

- ``dense_small``: G Dense 128 + LeakyReLU(0.01) -> Dense prod(shape) tanh; D Flatten -> Dense 128 +
  LeakyReLU(0.01) -> Dense 1 sigmoid.
- ``dense_sgd``: the core dense generator (ganpipe.models.dense) against a Flatten -> 512 -> 256
  discriminator (LeakyReLU 0.2), meant for plain SGD.
- ``mlp_dropout``: G and D each with hidden ReLU layers (sizes ``g_hidden``, ``d_hidden``), dropout
  ``dropout`` after each; tanh output for G.
- ``gauss1d``: D = 3 Linear layers with ELU, ELU, sigmoid; G = Linear -> ELU -> Linear -> sigmoid ->
  Linear, on (batch, 1) samples.
"""

from __future__ import annotations

import keras
from keras import layers

from . import dense
from .heads import OUTPUT_DTYPE, image_head, validity_head


def build_dense_small(*, latent_dim: int, image_shape: tuple[int, ...]):
    hidden, slope = 128, 0.01
    z = keras.Input((latent_dim,), name="noise")
    x = layers.LeakyReLU(negative_slope=slope)(layers.Dense(hidden)(z))
    generator = keras.Model(z, image_head(x, image_shape), name="generator")
    img = keras.Input(image_shape, name="image")
    y = layers.LeakyReLU(negative_slope=slope)(layers.Dense(hidden)(layers.Flatten()(img)))
    return generator, keras.Model(img, validity_head(y), name="discriminator")


def build_dense_sgd(*, latent_dim: int, image_shape: tuple[int, ...]):
    generator = dense.build_generator(latent_dim=latent_dim, image_shape=image_shape)
    img = keras.Input(image_shape, name="image")
    y = layers.Flatten()(img)
    for width in (512, 256):
        y = layers.LeakyReLU(negative_slope=0.2)(layers.Dense(width)(y))
    return generator, keras.Model(img, validity_head(y), name="discriminator")


def build_mlp_dropout(*, latent_dim: int, image_shape: tuple[int, ...], g_hidden: list, d_hidden: list, dropout: float):
    if not (0.0 <= dropout < 1.0):
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    z = keras.Input((latent_dim,), name="noise")
    x = z
    for width in g_hidden:
        x = layers.Dropout(dropout)(layers.Dense(int(width), activation="relu")(x))
    generator = keras.Model(z, image_head(x, image_shape), name="generator")
    img = keras.Input(image_shape, name="image")
    y = layers.Flatten()(img)
    for width in d_hidden:
        y = layers.Dropout(dropout)(layers.Dense(int(width), activation="relu")(y))
    return generator, keras.Model(img, validity_head(y), name="discriminator")


def build_gauss1d(*, latent_dim: int, image_shape: tuple[int, ...], g_hidden: int, d_hidden: int):
    if tuple(image_shape) != (1,):
        raise ValueError(f"gauss1d draws single numbers, the data has shape {tuple(image_shape)}")
    z = keras.Input((latent_dim,), name="noise")
    x = layers.Dense(g_hidden, activation="elu")(z)
    x = layers.Dense(g_hidden, activation="sigmoid")(x)
    generator = keras.Model(z, layers.Dense(1, name="value", dtype=OUTPUT_DTYPE)(x), name="generator")
    v = keras.Input((1,), name="value")
    y = layers.Dense(d_hidden, activation="elu")(v)
    y = layers.Dense(d_hidden, activation="elu")(y)
    return generator, keras.Model(v, validity_head(y), name="discriminator")
