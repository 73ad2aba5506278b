"""ganpipe.evaluation.inference: a model's outputs in batches through one compiled function."""

import gc
import weakref

import keras
import numpy as np
import pytest

from ganpipe.evaluation.judge import build_judge, judge_outputs, scale
from ganpipe.evaluation.inference import batched_outputs, compiled, part


def test_batched_outputs_are_the_eager_outputs_to_the_bit():
    """A judge with two outputs over 37 digits in batches of 16 (a short last batch): the same
    features and probabilities as calling the model eagerly on the same batches."""
    keras.utils.set_random_seed(0)
    judge = build_judge(image_shape=(28, 28, 1))
    both = keras.Model(judge.input, [judge.get_layer("features").output, judge.output])
    digits = np.random.default_rng(0).integers(0, 256, (37, 28, 28, 1), dtype=np.uint8)
    features, probs = batched_outputs(both, digits, batch_size=16, prepare=scale)
    eager = [both(scale(digits[i:i + 16]), training=False) for i in range(0, 37, 16)]
    want_features, want_probs = (np.concatenate([np.asarray(out[k]) for out in eager]) for k in (0, 1))
    assert features.shape == (37, 128) and probs.shape == (37, 10) and features.dtype == np.float32
    np.testing.assert_array_equal(features, want_features)
    np.testing.assert_array_equal(probs, want_probs)
    assert part(judge, "features", "probs") is part(judge, "features", "probs")  # made once, traced once
    assert [o.name for o in part(judge, "probs").outputs] == [judge.output.name]
    # the judge's own helper gives the same numbers, as float64
    f64, p64 = judge_outputs(judge, digits, batch_size=16)
    assert f64.dtype == np.float64
    np.testing.assert_array_equal(f64, want_features)
    np.testing.assert_array_equal(p64, want_probs)


def test_one_compiled_function_per_model_which_goes_with_the_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    function = compiled(model)
    assert compiled(model) is function
    x = np.ones((5, 3), np.float32)
    batched_outputs(model, x, batch_size=2)
    # batches of 2, then a last batch of 1: traced for 2, then once more for any batch size
    assert function.experimental_get_tracing_count() == 2
    batched_outputs(model, np.ones((11, 3), np.float32), batch_size=4)
    assert function.experimental_get_tracing_count() == 2
    gone = weakref.ref(model)
    del model, function
    gc.collect()
    assert gone() is None


def test_bad_batch_size_and_no_inputs_are_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        batched_outputs(model, np.ones((2, 3), np.float32), batch_size=0)
    with pytest.raises(ValueError, match="no inputs"):
        batched_outputs(model, np.ones((0, 3), np.float32), batch_size=4)
