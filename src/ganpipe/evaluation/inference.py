"""A model's outputs over many inputs, a batch per call of one compiled function.

Calling a Keras model eagerly runs Python for every layer of every batch; the scorers (the judge,
the picture scorer) take thousands of images at every evaluation and every scored snapshot. One
``tf.function`` per model, traced once, runs the same kernels on the same inputs, so the outputs
are the same to the bit (tested), in about 60% of the time for the judge.
"""

from __future__ import annotations

import weakref

import numpy as np

# model -> its compiled inference; the function holds the model only weakly, so the entry goes with it
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# model -> {names of layers: the model from its input to those layers' outputs}
_PARTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def part(model, *layers: str):
    """The model from ``model``'s input to the outputs of the named layers (in that order), made once per
    model and names, so its compiled function (:func:`compiled`) is traced once too."""
    import keras

    made = _PARTS.setdefault(model, {})
    if layers not in made:
        made[layers] = keras.Model(model.input, [model.get_layer(name).output for name in layers])
    return made[layers]


def compiled(model):
    """``model`` in inference mode (``training=False``) as a ``tf.function``, made once per model."""
    import tensorflow as tf

    function = _COMPILED.get(model)
    if function is None:
        held = weakref.ref(model)
        function = tf.function(lambda x: held()(x, training=False), reduce_retracing=True)
        _COMPILED[model] = function
    return function


def batched_outputs(model, inputs: np.ndarray, *, batch_size: int, prepare=None) -> list[np.ndarray]:
    """``model``'s outputs (a list, one array per output) over ``inputs`` in batches of ``batch_size``,
    each batch passed through ``prepare`` first (e.g. uint8 images to floats); numpy arrays as the
    model computes them (no dtype change)."""
    import keras

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    function = compiled(model)
    parts = []
    for start in range(0, len(inputs), batch_size):
        batch = inputs[start:start + batch_size]
        out = function(prepare(batch) if prepare is not None else batch)
        parts.append([keras.ops.convert_to_numpy(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    if not parts:
        raise ValueError("no inputs to run the model on")
    return [np.concatenate(column) for column in zip(*parts)]
