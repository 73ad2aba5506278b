"""The seed program's dense GAN for 28x28 digits.

Generator: latent -> Dense 256/512/1024, each LeakyReLU(0.2) then BatchNormalization(momentum 0.8)
-> Dense(prod(image_shape), tanh) -> reshape. 1,493,520 parameters for latent 100 and 28x28x1.
Discriminator: Flatten -> Dense 512 -> LeakyReLU(0.2) -> Dense 512 -> LeakyReLU(0.2) -> Dense 1
sigmoid. 665,089 parameters for 28x28x1.
"""

from __future__ import annotations

import keras
from keras import layers

from .heads import image_head, validity_head


def build_generator(*, latent_dim: int, image_shape: tuple[int, ...]) -> keras.Model:
    """Noise (batch, latent_dim) float32 -> images (batch, *image_shape) in [-1, 1]."""
    z = keras.Input(shape=(latent_dim,), name="noise")
    x = z
    for width in (256, 512, 1024):
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
        x = layers.BatchNormalization(momentum=0.8)(x)
    return keras.Model(z, image_head(x, image_shape), name="generator")


def build_discriminator(*, image_shape: tuple[int, ...]) -> keras.Model:
    """Images (batch, *image_shape) in [-1, 1] -> probability of "real", (batch, 1) in (0, 1)."""
    img = keras.Input(shape=image_shape, name="image")
    x = layers.Flatten()(img)
    for width in (512, 512):
        x = layers.Dense(width)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    return keras.Model(img, validity_head(x), name="discriminator")


def build(*, latent_dim: int, image_shape: tuple[int, ...]):
    """Registry entry ``dense``: the seed program's pair."""
    return build_generator(latent_dim=latent_dim, image_shape=image_shape), build_discriminator(image_shape=image_shape)
