"""Stage face_features@<set>: train the picture scorer of a picture set (models/<set>_features).

An autoencoder trained on the set's real pictures (32x32 or 64x64), read at every scale of its encoder
(ganpipe.evaluation.face_features); every run on that set is scored in its feature space.
"""

from __future__ import annotations

from pathlib import Path

from ..config import FaceFeaturesConfig, load_section
from ..errors import DataError
from ..fileio import atomic_dir, write_json_atomic
from . import _entry


def make_face_features(cfg: FaceFeaturesConfig, *, data_dir, model_dir, reports_dir) -> dict:
    """Train the picture scorer on ``data_dir``'s faces.bin, save it, return its metrics."""
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
    p.add_argument("--data", required=True, help="prepared picture folder (faces.bin), data/<set>")
    p.add_argument("--model", required=True, help="output folder for autoencoder.keras, models/<set>_features")
    p.add_argument("--reports", required=True, help="output folder for metrics.json, reports/<set>_features")

    def body(args):
        cfg = load_section(args.params, "face_features", FaceFeaturesConfig)
        r = make_face_features(cfg, data_dir=args.data, model_dir=args.model, reports_dir=args.reports)
        print(f"face_features: reconstruction MSE {r['reconstruction_mse']:.4f} on {r['faces']} pictures "
              f"of {args.data} -> {args.model}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
