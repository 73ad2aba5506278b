"""`ganpipe generate`: samples a saved generator the way its generator.json says (noise kind, latent size)
and pictures any number of samples: a grid for images, a histogram for 1-D values."""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from ganpipe import cli
from ganpipe.models.registry import build_gan_models
from ganpipe.reporting.figures import figure_pixels, grid_figure
from ganpipe.training.export import GeneratorSpec, save_models
from ganpipe.training.gan import fixed_noise

from .conftest import png_size


def save_run(folder, arch, *, latent_dim, shape, noise, options=None):
    """An untrained (generator, discriminator) pair saved the way the train stage saves it, spec included."""
    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models(arch, latent_dim=latent_dim, image_shape=shape, options=options)
    spec = GeneratorSpec(run=folder.name, arch=arch, model=dict(options or {}), latent_dim=latent_dim, noise=noise,
                         output_shape=shape, output_range=(-1.0, 1.0) if len(shape) == 3 else None,
                         kind="digits" if len(shape) == 3 else "values", seed=0, precision="float32", steps=5)
    save_models(folder, generator, discriminator, spec=spec)
    return folder


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    """dense_small on 28x28x1 digits, U[-1, 1] noise of size 7."""
    return save_run(tmp_path_factory.mktemp("models") / "dense_small", "dense_small",
                    latent_dim=7, shape=(28, 28, 1), noise="uniform")


@pytest.fixture(scope="module")
def values_dir(tmp_path_factory):
    """The 1-D Gaussian GAN: U[0, 1] noise of size 1 -> one value."""
    return save_run(tmp_path_factory.mktemp("models") / "gauss1d", "gauss1d", latent_dim=1, shape=(1,),
                    noise="uniform01", options={"g_hidden": 32, "d_hidden": 64})


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    """A dense generator of 64x64 RGB faces from N(0, 1) noise of size 5."""
    return save_run(tmp_path_factory.mktemp("models") / "faces", "dense_small",
                    latent_dim=5, shape=(64, 64, 3), noise="normal")


def test_generate_grid_and_npy(tmp_path, digits_dir, capsys):
    out, npy = tmp_path / "samples.png", tmp_path / "samples.npy"
    code = cli.main(["generate", str(digits_dir), "--n", "30", "--grid", "3x10", "--seed", "1",
                     "--out", str(out), "--npy", str(npy)])
    assert code == 0
    assert png_size(out) == (640, 480)
    images = np.load(npy)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0
    assert capsys.readouterr().out == (f"generate: 30 images of shape (28, 28, 1) from {digits_dir} "
                                       f"(noise uniform) -> {out} and {npy}\n")
    # same seed -> same images; another seed -> other images; the legacy .h5 (spec beside it) gives the same
    again, _ = cli.generate(digits_dir, n=30, seed=1)
    np.testing.assert_allclose(again, images, atol=1e-6)
    assert not np.allclose(cli.generate(digits_dir, n=30, seed=2)[0], images)
    legacy, _ = cli.generate(digits_dir / "generator_model_5.h5", n=30, seed=1)
    np.testing.assert_allclose(legacy, images, atol=1e-5)


@pytest.mark.parametrize("run, kind, latent_dim", [("digits_dir", "uniform", 7), ("values_dir", "uniform01", 1)])
def test_generate_draws_the_noise_its_spec_names(request, run, kind, latent_dim):
    folder = request.getfixturevalue(run)
    samples, spec = cli.generate(folder, n=64, seed=3)
    generator = keras.models.load_model(folder / "generator.keras", compile=False)
    noise = fixed_noise(3, 64, latent_dim, kind)
    assert spec.noise == kind and noise.shape == (64, latent_dim)
    assert noise.max() <= 1 and (noise.min() >= 0 if kind == "uniform01" else noise.min() < -0.5)
    np.testing.assert_allclose(samples, generator.predict(noise, verbose=0), atol=1e-6)
    # what the old command drew (N(0, 1)) gives other samples
    assert not np.allclose(samples, generator.predict(fixed_noise(3, 64, latent_dim, "normal"), verbose=0), atol=1e-3)


def test_generate_1d_run_writes_a_histogram_and_n_by_1_values(tmp_path, values_dir, capsys):
    out, npy = tmp_path / "hist.png", tmp_path / "values.npy"
    assert cli.main(["generate", str(values_dir), "--n", "500", "--out", str(out), "--npy", str(npy)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == (f"generate: 500 values of shape (1,) from {values_dir} (noise uniform01) "
                            f"-> {out} and {npy}\n")
    assert png_size(out) == (640, 480)
    values = np.load(npy)
    assert values.shape == (500, 1) and values.dtype == np.float32 and values.std() > 0
    # without --n a 1-D run draws enough values for a histogram
    assert cli.main(["generate", str(values_dir), "--npy", str(npy)]) == 0
    assert np.load(npy).shape == (1000, 1)


def test_generate_rgb_faces(tmp_path, faces_dir, capsys):
    out, npy = tmp_path / "faces.png", tmp_path / "faces.npy"
    assert cli.main(["generate", str(faces_dir), "--n", "5", "--out", str(out), "--npy", str(npy)]) == 0
    assert png_size(out) == (640, 480)
    faces = np.load(npy)
    assert faces.shape == (5, 64, 64, 3) and faces.min() >= -1 and faces.max() <= 1
    assert "5 images of shape (64, 64, 3)" in capsys.readouterr().out


@pytest.mark.parametrize("n", [7, 10])
def test_generate_any_n_without_grid(tmp_path, digits_dir, capsys, n):
    out = tmp_path / "g.png"
    assert cli.main(["generate", str(digits_dir), "--n", str(n), "--out", str(out)]) == 0
    assert png_size(out) == (640, 480)
    assert f"generate: {n} images of shape (28, 28, 1)" in capsys.readouterr().out


def test_default_grid_has_room_for_n_and_no_empty_row():
    assert [cli.default_grid(n) for n in (1, 7, 10, 12, 16, 25, 30)] == [(1, 1), (3, 3), (3, 4), (3, 4), (4, 4), (5, 5), (5, 6)]
    for n in range(1, 200):
        rows, cols = cli.default_grid(n)
        assert rows * cols >= n > (rows - 1) * cols


def test_grid_figure_leaves_the_cells_after_the_last_image_blank():
    black = -np.ones((9, 28, 28, 1), np.float32)

    def dark_pixels(images):
        return int((figure_pixels(grid_figure(images, 3, 3)).mean(axis=-1) < 64).sum())

    full, seven = dark_pixels(black), dark_pixels(black[:7])
    assert full > 0 and abs(seven / full - 7 / 9) < 0.01


def test_grid_figure_draws_the_images_row_by_row_apart():
    """Seven flat gray images in a 2x4 grid (and an eighth left out of a 2x3 one): each cell holds its
    image, in reading order, with white between the cells."""
    levels = np.linspace(-1.0, 0.5, 7)
    images = np.broadcast_to(levels[:, None, None, None], (7, 28, 28, 1)).astype(np.float32)
    gray = figure_pixels(grid_figure(images, 2, 4)).mean(axis=-1)
    dark = np.argwhere(gray < 250)
    (top, left), (bottom, right) = dark.min(0), dark.max(0) + 1
    cell_h, cell_w = (bottom - top) / (2 + 0.2), (right - left) / (4 + 3 * 0.2)
    for i, level in enumerate(levels):
        r, c = divmod(i, 4)
        y, x = int(top + (r * 1.2 + 0.5) * cell_h), int(left + (c * 1.2 + 0.5) * cell_w)
        assert abs(gray[y, x] - 255 * (0.5 * level + 0.5)) < 3, (i, gray[y, x])
        assert gray[y, int(left + (c * 1.2 + 1.1) * cell_w)] > 250  # the gap to its right
    assert gray[int(top + 1.7 * cell_h), int(left + 4.1 * cell_w)] > 250  # the eighth cell: blank
    fewer = figure_pixels(grid_figure(images, 2, 3)).mean(axis=-1)
    seventh = 255 * (0.5 * levels[6] + 0.5)
    assert (np.abs(gray - seventh) < 1).sum() > 1000 > (np.abs(fewer - seventh) < 1).sum()  # not drawn in a 2x3 grid


def test_npy_alone_writes_no_picture(tmp_path, digits_dir, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["generate", str(digits_dir), "--n", "4", "--npy", "only.npy"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["only.npy"]
    # neither --out nor --npy: the picture goes to samples.png
    assert cli.main(["generate", str(digits_dir), "--n", "4"]) == 0
    assert png_size(tmp_path / "samples.png") == (640, 480)


@pytest.mark.parametrize(
    "run, args, message",
    [
        ("digits_dir", ["--grid", "3x3", "--n", "10"], "--grid: 3x3 has room for 9 images, but --n is 10"),
        ("digits_dir", ["--n", "0"], "--n: must be >= 1, got 0"),
        ("values_dir", ["--grid", "2x2", "--n", "4"], "draws values of shape (1,), pictured as a histogram, not a grid"),
    ],
)
def test_generate_argument_errors(request, tmp_path, capsys, run, args, message):
    assert cli.main(["generate", str(request.getfixturevalue(run)), "--out", str(tmp_path / "x.png"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_generate_with_more_cells_than_images(tmp_path, digits_dir):
    assert cli.main(["generate", str(digits_dir), "--n", "5", "--grid", "2x4", "--out", str(tmp_path / "x.png")]) == 0
    assert png_size(tmp_path / "x.png") == (640, 480)


def test_generate_rejects_a_bad_spec(tmp_path, digits_dir, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "generator.keras").write_bytes((digits_dir / "generator.keras").read_bytes())
    (folder / "generator.json").write_text("{not json")
    assert cli.main(["generate", str(folder), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'generator.json'}: not a ganpipe generator spec" in err and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_generate_rejects_a_file_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "generator.keras"
    fake.write_text("this is not a zip archive")
    assert cli.main(["generate", str(fake), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert f"{fake}: not a loadable Keras model" in err and err.count("\n") == 1
    assert cli.main(["generate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.png")]) == 2
    assert "generator file not found" in capsys.readouterr().err


def test_generate_rejects_a_discriminator(tmp_path, digits_dir, capsys):
    assert cli.main(["generate", str(digits_dir / "discriminator.keras"), "--out", str(tmp_path / "x.png")]) == 2
    assert "expected a generator with one (batch, latent_dim) input, found input shape (None, 28, 28, 1)" in capsys.readouterr().err


def test_bad_grid_syntax_is_an_argparse_error(digits_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["generate", str(digits_dir), "--grid", "three"])
    assert exit_info.value.code == 2
    assert "expected ROWSxCOLS such as 3x10" in capsys.readouterr().err


def test_command_prints_nothing_on_stderr(tmp_path, values_dir):
    """A fresh process (TensorFlow imported there, no log level set by the caller): only the result line."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GANPIPE_DEBUG")}
    proc = subprocess.run([sys.executable, "-m", "ganpipe.cli", "generate", str(values_dir), "--n", "50",
                           "--npy", str(tmp_path / "v.npy")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout == f"generate: 50 values of shape (1,) from {values_dir} (noise uniform01) -> {tmp_path / 'v.npy'}\n"


NATIVE_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796169211.549844    4930 port.cc:153] oneDNN custom operations are on.\n",
    "W0415 10:21:07.123456  123 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n",
    "E0000 00:00:1723456789.123456    4930 cuda_driver.cc:152] failed call to cuInit: INTERNAL: CUDA error: "
    "Failed call to cuInit: UNKNOWN ERROR (303)\n",
]
KEPT_LINES = [
    "E0000 00:00:1723456789.123456    4930 op_kernel.cc:1840] OP_REQUIRES failed: out of memory\n",
    "Traceback (most recent call last):\n",
    "UserWarning: something a user should see\n",
]


def test_native_chatter_is_hidden_and_the_rest_kept(capfd):
    """The CLI runs through the stages' shell, whose filter (ganpipe.console) drops these lines."""
    from ganpipe import console

    assert all(console.is_noise(line) for line in NATIVE_LINES)
    assert not any(console.is_noise(line) for line in KEPT_LINES)
    quiet = console.StderrFilter().start()
    try:
        for line in NATIVE_LINES + KEPT_LINES:  # as C++ writes them: to the descriptor, not sys.stderr
            os.write(2, line.encode())
    finally:
        quiet.stop()
    assert capfd.readouterr().err == "".join(KEPT_LINES)
    # --debug shows everything: no filter is started
    import warnings

    shown = warnings.showwarning
    try:
        assert console.quiet_stage_output({}, show_all=True) is None
    finally:
        warnings.showwarning = shown
