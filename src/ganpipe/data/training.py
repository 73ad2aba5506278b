"""The one entry from a prepared data folder to the trainer's uint8 images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .binfmt import image_file, read_split

FACES_FILE = "faces.bin"


def load_training_images(folder: str | os.PathLike) -> np.ndarray:
    """uint8 (N, H, W, C) training images of a prepared folder.

    ``faces.bin`` (prepare_anime's 64x64x3 faces) if present, else the MNIST-style ``imagesTrain.bin``.
    """
    folder = Path(folder)
    if (folder / FACES_FILE).is_file():
        from .faces import read_faces_bin

        return read_faces_bin(folder / FACES_FILE)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found (run the prepare stage first?)")
    if not image_file(folder, "Train").is_file():
        raise DataError(f"{folder}: holds neither {FACES_FILE} nor imagesTrain.bin (run the prepare stage first?)")
    return read_split(folder, "Train").images
