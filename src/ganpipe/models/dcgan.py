"""The original anime program's DCGAN for 64x64 RGB faces, and its 32x32 sibling.

Generator: noise (latent_dim,) viewed as 1x1xlatent_dim -> Conv2DTranspose 512 (4x4, valid) -> 4x4,
then Conv2DTranspose 256 / 128 / 64 (4x4, stride 2, same) -> 32x32, each followed by
BatchNormalization(momentum 0.5) and LeakyReLU(0.2); Conv2D 64 (3x3, same) + BN + LeakyReLU;
Conv2DTranspose 3 (4x4, stride 2, same) and tanh -> 64x64x3 in [-1, 1].

Discriminator: Conv2D 64 / 128 / 256 / 512 (4x4, stride 2, same), BatchNormalization(momentum 0.5)
after all but the first, LeakyReLU(0.2) after each; Flatten; Dense 1 sigmoid.

Two options size it for a CPU (the defaults are the original): ``width`` w scales every layer's
filters (G 8w/4w/2w/w/w, D w/2w/4w/8w; compute goes with w squared), and ``upsample: resize``
replaces each stride-2 Conv2DTranspose (4x4) with nearest-neighbour upsampling and a 3x3 Conv2D
(more FLOPs, but TensorFlow's CPU conv2d runs several times faster than its conv2d_transpose on
some CPUs, and it draws no checkerboard), computed as one low-resolution convolution
(ganpipe.models.layers.ResizeConv2D); saved generators hold Keras' own two layers.
"""

from __future__ import annotations

import keras
from keras import layers

from .heads import OUTPUT_DTYPE, validity_head

BN_MOMENTUM = 0.5
SLOPE = 0.2


def _bn_lrelu(x):
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.LeakyReLU(negative_slope=SLOPE)(x)


UPSAMPLE = ("transpose", "resize")


def _up(filters: int, upsample: str, **kwargs):
    """A x2 upsampling layer (as a function of its input) with ``filters`` outputs."""
    if upsample == "transpose":
        return layers.Conv2DTranspose(filters, 4, strides=2, padding="same", **kwargs)

    from .layers import ResizeConv2D

    return ResizeConv2D(filters, **kwargs)  # UpSampling2D + Conv2D 3x3 as one low-resolution convolution


def build_generator(*, latent_dim: int, channels: int = 3, width: int = 64, upsample: str = "transpose",
                    size: int = 64) -> keras.Model:
    """Noise (batch, latent_dim) -> images (batch, size, size, channels) in [-1, 1]; ``size`` 64 or 32.

    From 4x4 each upsampling doubles the side and halves the filters down to ``width``, then the 3x3
    convolution and the last upsampling to the images: at 64, 8w (4x4) -> 4w/2w/w; at 32, 4w -> 2w/w.
    """
    if upsample not in UPSAMPLE:
        raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE)}, got {upsample!r}")
    steps = _steps(size)
    z = keras.Input(shape=(latent_dim,), name="noise")
    x = layers.Reshape((1, 1, latent_dim))(z)
    x = _bn_lrelu(layers.Conv2DTranspose(2 ** steps * width, 4, padding="valid")(x))
    for i in reversed(range(steps)):
        x = _bn_lrelu(_up(2 ** i * width, upsample)(x))
    x = _bn_lrelu(layers.Conv2D(width, 3, padding="same")(x))
    img = _up(channels, upsample, activation="tanh", name="image", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(z, img, name="generator")


def build_discriminator(*, image_shape: tuple[int, ...], width: int = 64) -> keras.Model:
    """Images (batch, S, S, C) in [-1, 1], S 64 or 32 -> probability of "real", (batch, 1): stride-2
    convolutions w, 2w, ... down to 4x4 (four at 64, three at 32)."""
    img = keras.Input(shape=image_shape, name="image")
    x = img
    for i in range(_steps(image_shape[0]) + 1):
        x = layers.Conv2D(2 ** i * width, 4, strides=2, padding="same")(x)
        if i:
            x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
        x = layers.LeakyReLU(negative_slope=SLOPE)(x)
    return keras.Model(img, validity_head(layers.Flatten()(x)), name="discriminator")


def _steps(size: int) -> int:
    """Upsamplings between the 4x4 start and the last one: 3 for 64x64 images, 2 for 32x32."""
    return {64: 3, 32: 2}[size]


def _build_square(size: int, *, latent_dim: int, image_shape: tuple[int, ...], width: int, upsample: str):
    if tuple(image_shape[:2]) != (size, size):
        raise ValueError(f"dcgan{size} draws {size}x{size} images, the data is {image_shape[0]}x{image_shape[1]}")
    if not (isinstance(width, int) and width >= 1):
        raise ValueError(f"width must be a positive integer, got {width!r}")
    return (build_generator(latent_dim=latent_dim, channels=image_shape[2], width=width, upsample=upsample, size=size),
            build_discriminator(image_shape=image_shape, width=width))


def build_dcgan64(*, latent_dim: int, image_shape: tuple[int, ...], width: int = 64, upsample: str = "transpose"):
    """Registry entry ``dcgan64``: needs 64x64 images (any channel count); ``width`` and ``upsample`` as above."""
    return _build_square(64, latent_dim=latent_dim, image_shape=image_shape, width=width, upsample=upsample)


def build_dcgan32(*, latent_dim: int, image_shape: tuple[int, ...], width: int = 64, upsample: str = "transpose"):
    """Registry entry ``dcgan32``: the same family for 32x32 images (one upsampling and one D layer fewer)."""
    return _build_square(32, latent_dim=latent_dim, image_shape=image_shape, width=width, upsample=upsample)


def build_dcgan28(*, latent_dim: int, image_shape: tuple[int, ...]):
    """Registry entry ``dcgan28``: a small convolutional pair for 28x28 digits (not in the originals).

    G: Dense 7x7x(2f) + BN + LeakyReLU -> Conv2DTranspose f (5x5, stride 2) + BN + LeakyReLU ->
    Conv2DTranspose C (5x5, stride 2) tanh. D: Conv2D f / 2f (5x5, stride 2) + LeakyReLU, dropout 0.3,
    Flatten, Dense 1 sigmoid.
    """
    if tuple(image_shape[:2]) != (28, 28):
        raise ValueError(f"dcgan28 draws 28x28 images, the data is {image_shape[0]}x{image_shape[1]}")
    filters = 64
    z = keras.Input(shape=(latent_dim,), name="noise")
    x = _bn_lrelu(layers.Dense(7 * 7 * 2 * filters, use_bias=False)(z))
    x = layers.Reshape((7, 7, 2 * filters))(x)
    x = _bn_lrelu(layers.Conv2DTranspose(filters, 5, strides=2, padding="same", use_bias=False)(x))
    img = layers.Conv2DTranspose(image_shape[2], 5, strides=2, padding="same", activation="tanh", name="image",
                                 dtype=OUTPUT_DTYPE)(x)
    generator = keras.Model(z, img, name="generator")
    inp = keras.Input(shape=image_shape, name="image")
    y = inp
    for f in (filters, 2 * filters):
        y = layers.Dropout(0.3)(layers.LeakyReLU(negative_slope=SLOPE)(layers.Conv2D(f, 5, strides=2, padding="same")(y)))
    return generator, keras.Model(inp, validity_head(layers.Flatten()(y)), name="discriminator")
