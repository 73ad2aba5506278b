"""`ganpipe generate`: loads a saved generator, reads its latent size, writes a grid and raw images."""

import struct

import keras
import numpy as np
import pytest

from ganpipe import cli
from ganpipe.models import build_gan_models
from ganpipe.training.export import save_models


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An (untrained) dense generator saved the way the train stage saves it, with latent size 7."""
    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models("dense", latent_dim=7, image_shape=(28, 28, 1))
    folder = tmp_path_factory.mktemp("models") / "mnist"
    save_models(folder, generator, discriminator, epochs=5)
    return folder


def test_generate_grid_and_npy(tmp_path, model_dir, capsys):
    out, npy = tmp_path / "samples.png", tmp_path / "samples.npy"
    code = cli.main(["generate", str(model_dir), "--n", "30", "--grid", "3x10", "--seed", "1", "--out", str(out), "--npy", str(npy)])
    assert code == 0
    head = out.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (640, 480)
    images = np.load(npy)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0
    assert "30 images of shape (28, 28, 1)" in capsys.readouterr().out
    # same seed -> same images; another seed -> other images; the legacy .h5 gives the same pictures
    again = cli.generate(model_dir, n=30, seed=1, grid=None)
    np.testing.assert_allclose(again, images, atol=1e-6)
    assert not np.allclose(cli.generate(model_dir, n=30, seed=2, grid=None), images)
    legacy = cli.generate(model_dir / "generator_model_5.h5", n=30, seed=1, grid=None)
    np.testing.assert_allclose(legacy, images, atol=1e-5)


def test_generate_default_grid_is_near_square(tmp_path, model_dir):
    assert [cli.default_grid(n) for n in (1, 12, 16, 25, 30)] == [(1, 1), (3, 4), (4, 4), (5, 5), (5, 6)]
    assert cli.main(["generate", str(model_dir), "--n", "12", "--out", str(tmp_path / "g.png")]) == 0
    head = (tmp_path / "g.png").read_bytes()[:24]
    assert struct.unpack(">II", head[16:24]) == (640, 480)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grid", "3x10", "--n", "20"], "--grid: 3x10 needs 30 images, but --n is 20"),
        (["--n", "0"], "--n: must be >= 1"),
    ],
)
def test_generate_argument_errors(tmp_path, model_dir, capsys, args, message):
    assert cli.main(["generate", str(model_dir), "--out", str(tmp_path / "x.png"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_generate_rejects_a_file_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "generator.keras"
    fake.write_text("this is not a zip archive")
    assert cli.main(["generate", str(fake), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"{fake}: not a loadable Keras model" in err and err.count("\n") == 1
    assert cli.main(["generate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.png")]) == 2
    assert "generator file not found" in capsys.readouterr().err


def test_generate_rejects_a_discriminator(tmp_path, model_dir, capsys):
    assert cli.main(["generate", str(model_dir / "discriminator.keras"), "--out", str(tmp_path / "x.png")]) == 2
    assert "expected a generator with one (batch, latent_dim) input, found input shape (None, 28, 28, 1)" in capsys.readouterr().err


def test_bad_grid_syntax_is_an_argparse_error(tmp_path, model_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["generate", str(model_dir), "--grid", "three"])
    assert exit_info.value.code == 2
    assert "expected ROWSxCOLS such as 3x10" in capsys.readouterr().err
