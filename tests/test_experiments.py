"""Every named experiment in params.yaml and experiments.yaml: its parameter counts, a few real training
steps, and `ganpipe add-run` bringing one into params.yaml."""

import dataclasses

import keras
import numpy as np
import pytest
import yaml

from ganpipe.config import TrainConfig, load_section
from ganpipe.models.registry import build_gan_models

from .conftest import REPO, train_steps

# the default runs (params.yaml) and the ready-made ones that wait in experiments.yaml
FILES = {name: REPO / file for file in ("experiments.yaml", "params.yaml")
         for name in yaml.safe_load((REPO / file).read_text())["train"]}
SECTIONS = sorted(FILES)

# (generator, discriminator) parameter counts of each experiment's networks as configured in params.yaml,
# checked by hand from the layer sizes (e.g. dense_small G: 100*128+128 + 128*784+784 = 114,064)
PARAMETER_COUNTS = {
    "mnist": (1_493_520, 665_089),
    "anime": (210_615, 99_733),           # width 12, resize-convolutions
    "anime_original": (3_616_771, 2_768_321),
    "gauss1d": (1_153, 4_353),
    "dense_small": (114_064, 100_609),
    "dense_burnin": (114_064, 100_609),
    "dense_sgd": (1_493_520, 533_505),
    "mlp_dropout": (559_632, 533_505),
    "dcgan28": (858_945, 212_865),
}

DATA_SHAPES = {"anime": (64, 64, 3), "anime_original": (64, 64, 3), "gauss1d": (1,)}


def test_every_experiment_has_its_counts_listed():
    assert sorted(PARAMETER_COUNTS) == SECTIONS


@pytest.mark.parametrize("name", SECTIONS)
def test_parameter_counts(name):
    cfg = load_section(FILES[name], f"train.{name}", TrainConfig)
    generator, discriminator = build_gan_models(cfg.arch, latent_dim=cfg.latent_dim,
                                                image_shape=DATA_SHAPES.get(name, (28, 28, 1)), options=cfg.model)
    assert (generator.count_params(), discriminator.count_params()) == PARAMETER_COUNTS[name]


@pytest.fixture(scope="module")
def gauss_dir(tmp_path_factory):
    from ganpipe.data.gauss1d import write_gauss1d

    folder = tmp_path_factory.mktemp("g") / "gauss1d"
    write_gauss1d(folder, mean=4.0, variance=1.25, count=2000, seed=0)
    return folder


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    from ganpipe.data.faces import write_faces

    folder = tmp_path_factory.mktemp("f") / "anime"
    faces = np.random.default_rng(0).integers(0, 256, (40, 64, 64, 3), dtype=np.uint8)
    write_faces(folder, faces, {"count": 40, "shape": [40, 64, 64, 3], "pictures": []})
    return folder


# mnist: test_training.py; the original anime DCGAN (width 64, 22 s) with the slow tests
@pytest.mark.parametrize("name", [pytest.param(s, marks=pytest.mark.slow) if s == "anime_original" else s
                                  for s in SECTIONS if s != "mnist"])
def test_each_experiment_trains_a_few_steps(name, tmp_path, mnist_dir, gauss_dir, faces_dir):
    from ganpipe.training.run import RunPaths, train_run

    cfg = load_section(FILES[name], f"train.{name}", TrainConfig)
    cfg = dataclasses.replace(cfg, epochs=4, batch_size=8, history_interval=2, sample_interval=3,
                              checkpoint_interval=0, steps_per_execution=1, eval_interval=0,
                              reset_discriminator_at=(2,) if cfg.reset_discriminator_at else ())
    data = {"gauss1d": gauss_dir, "anime": faces_dir, "anime_original": faces_dir}.get(name, mnist_dir)
    result = train_run(cfg, RunPaths(data=data, models=tmp_path / "m", reports=tmp_path / "r"), progress=False)
    steps = [row.split("\t")[0] for row in (tmp_path / "r" / "plots" / "metrics" / "g_loss.tsv").read_text().splitlines()]
    assert steps == ["step", "0", "2", "3"]
    assert all(np.isfinite(v) for v in result.final.values())
    assert (tmp_path / "r" / "plots" / "images" / "samples" / "3.png").stat().st_size > 0
    generator = keras.models.load_model(tmp_path / "m" / "generator.keras")
    assert generator.count_params() == PARAMETER_COUNTS[name][0]


def test_discriminator_reset_reinitialises_d_and_leaves_g(mnist_dir):
    """Burn-in: at the reset step D gets fresh weights and a zeroed optimizer; G keeps its weights."""
    from ganpipe.data.kinds import load_training_data
    from ganpipe.training.gan import ArraySampler, build_gan

    cfg = dataclasses.replace(load_section(FILES["dense_burnin"], "train.dense_burnin", TrainConfig), batch_size=16)
    kind, images = load_training_data(mnist_dir)
    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models(cfg.arch, latent_dim=cfg.latent_dim, image_shape=(28, 28, 1))
    gan = build_gan(cfg, generator, discriminator, ArraySampler(images, kind.to_network))
    train_steps(gan, 3)
    keras.utils.set_random_seed(123)
    _, fresh = build_gan_models(cfg.arch, latent_dim=cfg.latent_dim, image_shape=(28, 28, 1))
    g_before = [np.array(w) for w in generator.weights]
    d_trained = [np.array(w) for w in discriminator.weights]
    gan.reset_discriminator(fresh)
    for var, value in zip(discriminator.weights, fresh.weights):
        np.testing.assert_array_equal(np.array(var), np.array(value))
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(d_trained, discriminator.weights))
    assert int(gan.d_optimizer.iterations) == 0, "D's optimizer starts over"
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(cfg.d_lr), "but keeps its learning rate"
    assert int(gan.g_optimizer.iterations) == 3, "G's optimizer keeps its state"
    for a, b in zip(g_before, generator.weights):
        np.testing.assert_array_equal(a, np.array(b))
    # and the fresh D learns: a few steps later it separates real from generated again
    d_fresh = [np.array(w) for w in discriminator.weights]
    out = train_steps(gan, 40)
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(d_fresh, discriminator.weights))
    assert out[-1, 2] > 0.8 and out[-1, 3] > 0.8, "D accuracy on real and fake after retraining"


def test_catalogue_and_params_name_different_experiments():
    """A name in both files would be trained from params.yaml while experiments.yaml says otherwise."""
    catalogue = yaml.safe_load((REPO / "experiments.yaml").read_text())
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert not set(catalogue["train"]) & set(params["train"])
    assert set(catalogue["runs"]) == set(catalogue["train"])


def test_add_run_copies_a_catalogue_experiment_into_params_yaml(tmp_path, capsys):
    """`ganpipe add-run dense_burnin`: its section, runs entry and digit evaluation land in params.yaml,
    with params.yaml's comments and every other line untouched; a second call changes nothing."""
    from ganpipe import cli

    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    (tmp_path / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
    args = ["add-run", "dense_burnin", "--params", str(params), "--catalogue", str(REPO / "experiments.yaml")]
    assert cli.main(args) == 0
    assert "train.dense_burnin: copied" in capsys.readouterr().out
    before, after = yaml.safe_load((REPO / "params.yaml").read_text()), yaml.safe_load(params.read_text())
    assert after["train"]["dense_burnin"] == yaml.safe_load((REPO / "experiments.yaml").read_text())["train"]["dense_burnin"]
    assert after["runs"] == {**before["runs"], "dense_burnin": {"data": "data/mnist", "scorer": "models/judge"}}
    assert after["evaluate"]["runs"] == before["evaluate"]["runs"] + ["dense_burnin"]
    after["train"].pop("dense_burnin"), after["runs"].pop("dense_burnin"), after["evaluate"]["runs"].pop()
    assert after == before
    old_lines = (REPO / "params.yaml").read_text().splitlines()
    new_lines = params.read_text().splitlines()
    assert sum(line not in new_lines for line in old_lines) == 1  # only evaluate.runs' line changed
    load_section(params, "train.dense_burnin", TrainConfig)
    text = params.read_text()
    assert cli.main(args) == 0 and params.read_text() == text
    assert "already" in capsys.readouterr().out
    assert cli.main(["add-run", "resnet", "--params", str(params), "--catalogue", str(REPO / "experiments.yaml")]) == 2
    assert "no experiment 'resnet' (known: dense_small" in capsys.readouterr().err


def test_add_run_on_another_folder_takes_that_folders_scorer(tmp_path):
    """--data replaces the catalogue's folder; the folder's kind (from the prepare stage that writes it, or
    from its manifest when prepared elsewhere) brings its scorer and evaluation list, and takes the run
    out of the old one's; dvc.yaml's artifacts, metrics and report inputs follow."""
    from ganpipe.experiments import add_run

    params = tmp_path / "params.yaml"
    params.write_text((REPO / "params.yaml").read_text())
    (tmp_path / "dvc.yaml").write_text((REPO / "dvc.yaml").read_text())
    (tmp_path / "data" / "fashion").mkdir(parents=True)
    (tmp_path / "data" / "fashion" / "manifest.json").write_text('{"kind": "digits"}')
    catalogue = REPO / "experiments.yaml"
    pipeline_parts = ["dvc.yaml: artifacts", "dvc.yaml: metrics", "dvc.yaml: report's deps"]
    assert add_run("dcgan28", params=params, catalogue=catalogue, data="data/anime/")[1:] == [
        "runs.dcgan28: data data/anime, scorer models/anime_features", "evaluate_faces.runs: + dcgan28", *pipeline_parts]
    assert add_run("dense_sgd", params=params, catalogue=catalogue, data="data/fashion") == [
        "train.dense_sgd: copied from " + str(catalogue), "runs.dense_sgd: data data/fashion, scorer models/judge",
        "evaluate.runs: + dense_sgd", *pipeline_parts]
    runs = yaml.safe_load(params.read_text())["runs"]
    assert runs["dcgan28"] == {"data": "data/anime", "scorer": "models/anime_features"}
    assert runs["dense_sgd"] == {"data": "data/fashion", "scorer": "models/judge"}
    # moved back: the entry is updated in place, not added twice
    assert add_run("dcgan28", params=params, catalogue=catalogue, data="data/mnist") == [
        "runs.dcgan28: data data/mnist, scorer models/judge", "evaluate_faces.runs: - dcgan28", "evaluate.runs: + dcgan28",
        "dvc.yaml: artifacts"]
    after = yaml.safe_load(params.read_text())
    assert after["runs"]["dcgan28"] == {"data": "data/mnist", "scorer": "models/judge"}
    before = yaml.safe_load((REPO / "params.yaml").read_text())
    assert after["evaluate_faces"]["runs"] == before["evaluate_faces"]["runs"]
    assert after["evaluate"]["runs"] == before["evaluate"]["runs"] + ["dcgan28", "dense_sgd"]  # in runs' order
