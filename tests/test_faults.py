"""Faults while a run writes: a full disk gives one line naming the path, exit 2, and loses nothing."""

import errno

import numpy as np
import pytest

from ganpipe.stages import train as train_stage

from .conftest import save_params, shrunk_params, train_args


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def params(tmp_path):
    return save_params(tmp_path, shrunk_params("mnist", epochs=15, batch_size=16, checkpoint_interval=5,
                                               steps_per_execution=5))


def test_full_disk_while_saving_models_keeps_the_earlier_models(tmp_path, mnist_dir, params, monkeypatch, capsys):
    args = train_args("mnist", params, mnist_dir, tmp_path)
    assert train_stage.main(args) == 0
    models = tmp_path / "models"
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    capsys.readouterr()

    from ganpipe.training import export

    monkeypatch.setattr(export, "make_keras_file_stable", full_disk)  # after Keras wrote part of the folder
    assert train_stage.main(args) == 2
    err = capsys.readouterr().err
    assert err == f"ganpipe: error: {models}: cannot write (No space left on device)\n"
    assert {p.name: p.read_bytes() for p in models.iterdir()} == before, "the earlier models are untouched"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["models", "params.yaml", "reports"], "no temporary folder left"


def test_full_disk_while_checkpointing_keeps_the_last_checkpoint(tmp_path, mnist_dir, params, monkeypatch, capsys):
    from ganpipe.training import checkpoint

    real_savez, calls = np.savez, []

    def savez_then_full(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:  # the first checkpoint is written, the second finds the disk full
            full_disk()
        return real_savez(*args, **kwargs)

    monkeypatch.setattr(checkpoint.np, "savez", savez_then_full)
    assert train_stage.main(train_args("mnist", params, mnist_dir, tmp_path, checkpoints=True)) == 2
    err = capsys.readouterr().err
    ckpt = tmp_path / "ckpt"
    assert err == f"ganpipe: error: {ckpt / 'ckpt-000000010.npz'}: cannot write (No space left on device)\n"
    assert sorted(p.name for p in ckpt.iterdir()) == ["ckpt-000000005.npz"], "the last good one, nothing half-written"
    assert not (tmp_path / "models").exists()
