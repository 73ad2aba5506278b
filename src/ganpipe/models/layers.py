"""A resize-convolution computed at the low resolution, and the saved form that needs no ganpipe.

``ResizeConv2D(filters)`` is the function of ``UpSampling2D(2, "nearest")`` followed by a 3x3
``Conv2D(filters, padding="same")``, with that convolution's kernel and bias as its only weights.
Nearest-neighbour upsampling repeats each input pixel 2x2, so each of the four output phases
(row parity, column parity) of the 3x3 convolution sees a 2x2 neighbourhood of the input with
some taps summed: rows 2i-1, 2i, 2i+1 of the upsampled image are input rows i-1, i, i (even
output rows), rows 2i, 2i+1, 2i+2 are i, i, i+1 (odd ones), and likewise for columns. The layer
folds the 3x3 kernel into one low-resolution 3x3 kernel with 4x the output channels and rearranges
them into the 2x2 blocks (``depth_to_space``): the same outputs (up to float32 rounding of the
summed taps) from a quarter of the pixels, without the upsampled intermediate and its gradient.
On a 2-core AVX2 EPYC the anime generator's last layer (16 -> 3 channels at 64x64) took 73 ms
forward and backward at batch 32 as two layers, 25 ms as one (docs/speed.md).

Saved generators use Keras' own layers only (:func:`standard_layers`), so the legacy HDF5 file
and ``generator.keras`` load in plain Keras, without importing ganpipe.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

# _FOLD[parity][low-resolution offset -1/0/+1][high-resolution tap 0/1/2]: which of a 3x3 kernel's taps
# along one axis land on which input pixel, for even (0) and odd (1) output rows or columns
_FOLD = np.array([[[1, 0, 0], [0, 1, 1], [0, 0, 0]],
                  [[0, 0, 0], [1, 1, 0], [0, 0, 1]]], dtype=np.float32)


def fold_kernel(kernel):
    """A (3, 3, cin, cout) kernel of the upsampled image -> the (3, 3, cin, 4 cout) kernel at the input's
    resolution, output channels ordered (row parity, column parity, cout) as ``depth_to_space`` reads them."""
    from keras import ops

    folded = ops.einsum("pat,qbs,tsio->abipqo", _FOLD, _FOLD, kernel)
    shape = ops.shape(kernel)
    return ops.reshape(folded, (3, 3, shape[2], 4 * shape[3]))


@keras.saving.register_keras_serializable(package="ganpipe")
class ResizeConv2D(layers.Layer):
    """Nearest x2 upsampling and a 3x3 "same" convolution, computed as one (see the module's doc)."""

    def __init__(self, filters: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        cin = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(3, 3, cin, self.filters), initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, x):
        from keras import ops

        # folded in float32 and used in the compute dtype (bfloat16 under mixed precision: the constant
        # fold matrices would otherwise promote the kernel back to float32 against bfloat16 inputs)
        kernel = ops.cast(fold_kernel(ops.cast(self.kernel, "float32")), self.compute_dtype)
        y = ops.conv(x, kernel, padding="same") + ops.tile(ops.cast(self.bias, self.compute_dtype), [4])
        return self.activation(ops.depth_to_space(y, 2))

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        return (b, None if h is None else 2 * h, None if w is None else 2 * w, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "activation": keras.activations.serialize(self.activation)}

    def standard(self) -> list[layers.Layer]:
        """The same function as Keras' own layers: UpSampling2D, then a Conv2D holding this layer's weights."""
        conv = layers.Conv2D(self.filters, 3, padding="same", activation=self.activation, name=self.name,
                             dtype=self.dtype_policy)
        # float32: Keras' default policy, as the two-layer form built outside a precision scope had it (same
        # saved bytes); else the layer's own, by name
        policy = None if self.dtype_policy.name == "float32" else self.dtype_policy.name
        return [layers.UpSampling2D(2, interpolation="nearest", name=f"{self.name}_upsampling", dtype=policy), conv]


def standard_layers(model: keras.Model) -> keras.Model:
    """``model`` with every :class:`ResizeConv2D` as UpSampling2D + Conv2D (same weights); ``model`` itself
    if it has none. Only for chains of layers (each layer's input is the one before), as the generators are."""
    if not any(isinstance(layer, ResizeConv2D) for layer in model.layers):
        return model
    inputs = keras.Input(shape=model.input_shape[1:], name=model.layers[0].name)
    x, moves = inputs, []
    for layer in model.layers[1:]:
        if len(layer._inbound_nodes) != 1 or len(keras.tree.flatten(layer.input)) != 1:
            raise ValueError(f"{model.name}: layer {layer.name} is not part of a chain")
        twins = layer.standard() if isinstance(layer, ResizeConv2D) else [type(layer).from_config(layer.get_config())]
        for twin in twins:
            x = twin(x)
        moves.append((twins[-1], layer.get_weights()))
    for twin, weights in moves:
        twin.set_weights(weights)
    return keras.Model(inputs, x, name=model.name)
