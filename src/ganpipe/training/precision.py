"""``precision`` in params.yaml -> the Keras dtype policy the networks are built under.

``float32`` computes and stores everything in float32. ``mixed_bfloat16`` builds every layer
under Keras' ``mixed_bfloat16`` policy: layers compute in bfloat16 while their variables (and the
optimizers' state) stay float32, and each network's output layer stays float32
(ganpipe.models.heads.OUTPUT_DTYPE), so images, probabilities and losses are float32. bfloat16 has
float32's exponent range, so no loss scaling is needed.

A layer keeps the policy it was built with: the global policy is set only while the models are
built and put back afterwards, so one process can build float32 and mixed models side by side.
"""

from __future__ import annotations

import contextlib

PRECISIONS = ("float32", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(precision: str):
    """Make ``precision`` Keras' global dtype policy inside the block; restore the previous one after."""
    import keras

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} (valid: {', '.join(PRECISIONS)})")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
