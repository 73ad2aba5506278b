"""Progress bars of the long loops outside training: on stderr once a loop has run a second, never on stdout."""

import time

import numpy as np

from ganpipe.progress import progress


def slowly(count, seconds):
    for i in range(count):
        time.sleep(seconds)
        yield i


def test_a_long_loop_shows_a_bar_on_stderr_and_a_quick_one_nothing(capsys):
    assert list(progress(slowly(4, 0.4), desc="finding faces", unit="picture", total=4)) == [0, 1, 2, 3]
    out, err = capsys.readouterr()
    assert out == ""
    assert "finding faces: 100%" in err and "4/4" in err and "picture/s" in err, err
    with progress(total=1000, desc="nearest neighbours", unit="image") as bar:  # done within the second
        bar.update(1000)
    assert list(progress([], desc="finding faces", unit="picture")) == []
    assert capsys.readouterr() == ("", "")


def test_fit_progress_counts_keras_epochs_with_their_loss(capsys):
    """The scorers' fits (judge, face_features) run with verbose=0 and this callback; each epoch here
    sleeps 0.5 s so the bar is past its one-second wait however fast the machine."""
    import keras

    from ganpipe.progress import fit_progress

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(32, 3)).astype(np.float32)
    pause = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: time.sleep(0.5))
    model.fit(x, x[:, :1], epochs=4, batch_size=8, verbose=0, callbacks=[pause, fit_progress("judge", 4)])
    out, err = capsys.readouterr()
    assert out == ""
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("judge: 100%") and "4/4" in last and "epoch" in last and "loss=" in last, err
