"""The output layers every network ends in, and their dtype.

Layers take the global Keras dtype policy in force while a builder runs (see
ganpipe.training.precision), except each network's named output layer ("image", "value",
"validity"), which is OUTPUT_DTYPE: under mixed precision the generator still returns float32
images and the discriminator float32 probabilities, so losses are computed in float32. (In the
dense generators "image" is the final Reshape: their last Dense stays in bfloat16 and only its
tanh output is widened; an explicit float32 policy leaves float32 models' weights and outputs as
they were.)
"""

from __future__ import annotations

OUTPUT_DTYPE = "float32"  # the dtype policy of every network's output layer, whatever the global one


def image_head(x, image_shape: tuple[int, ...]):
    """A dense generator's output: Dense(prod(image_shape), tanh), reshaped to the images as "image" (OUTPUT_DTYPE)."""
    import math

    from keras import layers

    x = layers.Dense(math.prod(image_shape), activation="tanh")(x)
    return layers.Reshape(image_shape, name="image", dtype=OUTPUT_DTYPE)(x)


def validity_head(x):
    """Every discriminator's output: Dense(1, sigmoid) named "validity", in OUTPUT_DTYPE."""
    from keras import layers

    return layers.Dense(1, activation="sigmoid", name="validity", dtype=OUTPUT_DTYPE)(x)
