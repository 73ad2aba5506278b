"""The kinds of data ganpipe trains on, one object each: digits, pictures and 1-D values.

A prepare stage records its folder's kind in ``manifest.json`` (``"kind": "digits"``); everything
after it reads that once, with :func:`kind_of`, and asks the kind object instead of looking at file
names, array ranks or dtypes. A kind knows

- how to load its folder's training array (:meth:`DataKind.load`) and the generator's output range;
- how to scale a stored batch to the network's range (:meth:`to_network`);
- how to picture samples (:meth:`renderer`: a grid of images, a histogram of values);
- its snapshot scorer (:meth:`scorer`, from the run's ``scorer_dir``; :meth:`scorer_path`: where the
  scorer of a data folder lives) and its evaluation stage (:attr:`evaluation`), which is also the stage
  whose ``runs`` hold a run of this kind (:meth:`evaluation_runs`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import GanpipeError
from .manifest import KIND_NAMES, check_kind, read_kind


class DataKind:
    """What a kind of data is; one instance per kind in :data:`KINDS`."""

    name = ""
    evaluation = ""            # the dvc.yaml stage that evaluates a run of this kind
    scorer_stage = None        # the stage whose model folder scores runs (None: the data's own manifest)
    output_range = None        # (low, high) of the generator's output, or None for unbounded values
    default_count = 0          # samples `ganpipe generate` draws by default
    noun = "samples"           # what one sample is called in messages
    needs_grid = True          # the run's train.<name>.grid is used (image grids)
    report_pictures = ()       # reports/<run>/ pictures the report shows beside the loss plot

    def scorer_path(self, folder: str) -> str:
        """The scorer a run on the data ``folder`` depends on (dvc.yaml's train deps, ``runs.<name>.scorer``)."""
        return f"models/{self.scorer_stage}"

    def scorer_metrics(self, folder: str) -> str | None:
        """The metrics file of that scorer, which the report reads (a scorer stage writing models/<x> writes
        reports/<x>/metrics.json); None where the scorer is no trained model."""
        return f"reports/{Path(self.scorer_path(folder)).name}/metrics.json" if self.scorer_stage else None

    def evaluation_runs(self, runs: dict):
        """``<evaluation>.runs`` for this kind's runs ``{name: {data, scorer}}``: their names (the stage
        scores every run against the same data and scorer)."""
        return list(runs)

    def load(self, folder: Path) -> np.ndarray:
        raise NotImplementedError

    def to_network(self, batch):
        """A stored batch (tf.Tensor) -> float32 in the network's range."""
        import tensorflow as tf

        return tf.cast(batch, tf.float32)

    def renderer(self, grid, reference: np.ndarray):
        raise NotImplementedError

    def scorer(self, data_dir: Path, scorer_dir, data: np.ndarray | None = None):
        """The run's snapshot scorer; ``data``: the training data :meth:`load` gave, if the caller holds it."""
        raise NotImplementedError

    def draw(self, samples: np.ndarray, path, *, grid, title: str = "") -> None:
        """Picture ``samples`` (generator output) as a PNG at ``path``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<data kind {self.name}>"


class _Images(DataKind):
    """uint8 images (N, H, W, C) on disk; the generator draws float32 in [-1, 1] (tanh)."""

    output_range = (-1.0, 1.0)
    default_count = 25
    noun = "images"
    report_pictures = ("final_samples.png",)

    def to_network(self, batch):
        import tensorflow as tf

        return tf.cast(batch, tf.float32) / 127.5 - 1.0

    def renderer(self, grid, reference):
        from ..reporting.figures import GridRenderer

        return GridRenderer(*grid)  # a missing grid is refused with its params key (run.check_settings)

    def draw(self, samples, path, *, grid, title=""):
        from ..reporting.figures import save_image_grid

        save_image_grid(samples, path, *grid)

    def _scorer_model(self, data_dir, scorer_dir, file_name: str, stage: str):
        from ..training.export import load_made_model

        if scorer_dir is None:
            raise GanpipeError(f"{data_dir}: scoring {self.name} needs --scorer (the {stage} stage's model folder)")
        return load_made_model(Path(scorer_dir) / file_name, stage)


class Digits(_Images):
    """MNIST-style 28x28x1 digits with labels, in imagesTrain.bin / imagesTest.bin (prepare_mnist)."""

    name = "digits"
    evaluation = "evaluate"
    scorer_stage = "judge"

    def load(self, folder):
        from .binfmt import read_split

        return read_split(folder, "Train").images

    def scorer(self, data_dir, scorer_dir, data=None):
        from ..evaluation.judge import JUDGE_FILE
        from ..evaluation.scorers import DigitFID
        from .binfmt import read_split

        judge = self._scorer_model(data_dir, scorer_dir, JUDGE_FILE, "judge")
        train = self.load(data_dir) if data is None else data
        return DigitFID(judge, read_split(data_dir, "Test").images, train)


class Pictures(_Images):
    """Square RGB pictures (N, S, S, 3), S 32 or 64, in faces.bin (prepare_pictures@<set>: anime-face crops or
    the centre squares of any pictures, in data/<set>). Each set has its own scorer, models/<set>_features
    (stage face_features@<set>), and each run is evaluated against its own set and scorer."""

    name = "pictures"
    evaluation = "evaluate_faces"
    scorer_stage = "face_features"

    def scorer_path(self, folder):
        return f"models/{Path(folder).name}_features"

    def evaluation_runs(self, runs):
        """``{name: {data, scorer}}``: evaluate_faces@<name> takes both from its entry (dvc.yaml's foreach)."""
        return {name: {"data": str(entry["data"]), "scorer": str(entry["scorer"])} for name, entry in runs.items()}

    def load(self, folder):
        from .faces import FACES_FILE, read_faces_bin

        return read_faces_bin(Path(folder) / FACES_FILE)

    def scorer(self, data_dir, scorer_dir, data=None):
        from ..evaluation.face_features import FEATURES_FILE
        from ..evaluation.scorers import FaceFID

        extractor = self._scorer_model(data_dir, scorer_dir, FEATURES_FILE, "face_features")
        return FaceFID(extractor, self.load(data_dir) if data is None else data)


class Values(DataKind):
    """1-D float32 values (N, 1) in samples.bin, drawn from the normal target its manifest names."""

    name = "values"
    evaluation = "evaluate_gauss1d"
    default_count = 1000
    noun = "values"
    needs_grid = False

    def load(self, folder):
        from .gauss1d import read_gauss1d

        return read_gauss1d(folder)[0]

    def scorer_path(self, folder):
        return f"{folder}/manifest.json"  # the target's mean and variance

    def renderer(self, grid, reference):
        from ..reporting.figures import HistogramRenderer

        return HistogramRenderer(reference)

    def draw(self, samples, path, *, grid, title=""):
        from ..reporting.figures import save_histogram

        save_histogram(np.asarray(samples).reshape(-1), path, title=title)

    def scorer(self, data_dir, scorer_dir, data=None):
        from ..evaluation.scorers import KSDistance
        from .gauss1d import read_gauss1d_manifest

        manifest = read_gauss1d_manifest(data_dir)
        return KSDistance(manifest["mean"], manifest["variance"])


DIGITS, PICTURES, VALUES = Digits(), Pictures(), Values()
KINDS: dict[str, DataKind] = {kind.name: kind for kind in (DIGITS, PICTURES, VALUES)}
assert tuple(KINDS) == KIND_NAMES, "ganpipe.data.manifest.KIND_NAMES lists every kind"


def kind_named(name: str, where: str = "kind") -> DataKind:
    """The kind called ``name``; GanpipeError naming ``where`` and the known kinds otherwise."""
    try:
        return KINDS[name]
    except (KeyError, TypeError):
        raise GanpipeError(f"{where}: unknown data kind {name!r} (known: {', '.join(KINDS)})") from None


def kind_of(folder: str | os.PathLike) -> DataKind:
    """The kind a prepare stage recorded in ``folder``'s manifest.json; DataError naming the folder otherwise."""
    return KINDS[read_kind(folder)]


def load_training_data(folder: str | os.PathLike) -> tuple[DataKind, np.ndarray]:
    """(the folder's kind, its training array): uint8 images (N, H, W, C) or float32 values (N, 1)."""
    kind = kind_of(folder)
    return kind, kind.load(Path(folder))


def load_kind(folder: str | os.PathLike, expected: DataKind, user: str) -> np.ndarray:
    """The training array of ``folder``, which ``user`` (a stage, a script) reads as ``expected``'s kind;
    DataError naming the folder if it holds another kind."""
    check_kind(folder, expected.name, user)
    return expected.load(Path(folder))
