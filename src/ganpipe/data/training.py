"""The one entry from a prepared data folder to the trainer's uint8 images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .binfmt import image_file, read_split
from .gauss1d import SAMPLES_FILE, read_gauss1d

FACES_FILE = "faces.bin"  # as in .faces, which is imported only when needed (it pulls in PIL and animeface)


def load_training_images(folder: str | os.PathLike) -> np.ndarray:
    """The training array of a prepared folder.

    ``faces.bin`` (prepare_anime's 64x64x3 faces) -> uint8 (N, 64, 64, 3); ``samples.bin``
    (prepare_gauss1d) -> float32 (N, 1); else the MNIST-style ``imagesTrain.bin`` -> uint8 (N, 28, 28, 1).
    """
    folder = Path(folder)
    if (folder / SAMPLES_FILE).is_file():
        return read_gauss1d(folder)[0]
    if (folder / FACES_FILE).is_file():
        from .faces import read_faces_bin

        return read_faces_bin(folder / FACES_FILE)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found (run the prepare stage first?)")
    if not image_file(folder, "Train").is_file():
        raise DataError(f"{folder}: holds neither {FACES_FILE} nor imagesTrain.bin (run the prepare stage first?)")
    return read_split(folder, "Train").images
