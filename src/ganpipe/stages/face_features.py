"""Stage face_features: train the autoencoder that measures every anime experiment (models/face_features)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import FaceFeaturesConfig, load_section
from ..errors import DataError
from ..fileio import atomic_dir, write_json_atomic
from . import _entry


def make_face_features(cfg: FaceFeaturesConfig, *, data_dir, model_dir, reports_dir) -> dict:
    """Train the face autoencoder on ``data_dir``'s faces.bin, save it, return its metrics."""
    from ..data.faces import FACES_FILE, read_faces_bin
    from ..data.manifest import check_kind
    from ..evaluation.face_features import FEATURES_FILE, train_face_features
    from ..training.export import save_stable

    check_kind(data_dir, "pictures", "face_features")
    faces = read_faces_bin(Path(data_dir) / FACES_FILE)
    try:
        model, mse = train_face_features(faces, epochs=cfg.epochs, batch_size=cfg.batch_size,
                                         feature_dim=cfg.feature_dim, seed=cfg.seed)
    except ValueError as exc:
        raise DataError(f"{data_dir}: {exc}") from None
    with atomic_dir(model_dir) as tmp:
        save_stable(model, tmp / FEATURES_FILE)
    result = {"reconstruction_mse": round(mse, 5), "faces": len(faces)}
    write_json_atomic(Path(reports_dir) / "metrics.json", result)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.face_features", __doc__)
    p.add_argument("--data", default="data/anime", help="prepared faces folder (faces.bin)")
    p.add_argument("--model", default="models/face_features", help="output folder for autoencoder.keras")
    p.add_argument("--reports", default="reports/face_features", help="output folder for metrics.json")

    def body(args):
        cfg = load_section(args.params, "face_features", FaceFeaturesConfig)
        r = make_face_features(cfg, data_dir=args.data, model_dir=args.model, reports_dir=args.reports)
        print(f"face_features: reconstruction MSE {r['reconstruction_mse']:.4f} on {r['faces']} faces")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
