"""Stage evaluate_faces@<experiment>: score an anime-face GAN; reports/<experiment>/quality.json.

Face FID ± its bootstrap std and face KID ± its std over subsets: distances between generated and real
faces in the picture scorer's feature space (stage face_features); precision and recall in that space
(fidelity and diversity); detected share: how many generated faces animeface recognises. All come with
the same numbers for real faces (floor; its recall is the real faces' own split-half recall) and for an
untrained generator (ceiling), which go to quality_details.json beside it, with the number of faces compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..config import EvaluateFacesConfig, load_section
from ..errors import GanpipeError
from . import _entry


def evaluate_face_run(cfg: EvaluateFacesConfig, *, data_dir, features_dir, models_dir, reports_dir) -> dict:
    """Generate ``cfg.samples`` faces from the trained and from an untrained generator; score both.

    How to sample the generator and rebuild its untrained twin comes from ``models_dir``'s generator.json.
    """
    from ..data.faces import FACES_FILE, read_faces_bin
    from ..data.manifest import check_kind
    from ..evaluation.face_features import FEATURES_FILE
    from ..evaluation import write_quality
    from ..evaluation.faces import HEADLINE, evaluate_faces
    from ..evaluation.sampling import load_checked_generator, trained_and_untrained
    from ..training.export import load_made_model

    check_kind(data_dir, "pictures", "evaluate_faces")
    faces = read_faces_bin(Path(data_dir) / FACES_FILE)
    generator, spec = load_checked_generator(models_dir, faces.shape[1:], data_dir)
    if len(faces) < 4:
        raise GanpipeError(f"{data_dir}: {len(faces)} faces; at least 4 are needed for two real sets")
    extractor = load_made_model(Path(features_dir) / FEATURES_FILE, "face_features")
    generated, baseline = trained_and_untrained(generator, spec, seed=cfg.seed, count=cfg.samples)
    result = evaluate_faces(extractor, generated, baseline, faces, detect_samples=cfg.detect_samples,
                            threshold=cfg.threshold)
    write_quality(reports_dir, result, HEADLINE)
    return result


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.evaluate_faces", __doc__)
    p.add_argument("experiment", help="name of the experiment (a face GAN), for the summary line")
    p.add_argument("--data", default="data/anime", help="prepared faces folder the GAN was trained on")
    p.add_argument("--features", default="models/face_features", help="folder with autoencoder.keras")
    p.add_argument("--models", required=True, help="the experiment's model folder")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")

    def body(args):
        cfg = load_section(args.params, "evaluate_faces", EvaluateFacesConfig)
        r = evaluate_face_run(cfg, data_dir=args.data, features_dir=args.features, models_dir=args.models,
                              reports_dir=args.reports)
        print(f"evaluate_faces {args.experiment}: face FID {r['face_fid']:.2f} ± {r['face_fid_std']:.2f} "
              f"(real {r['real']['face_fid']:.2f}, untrained {r['untrained']['face_fid']:.2f}), recall "
              f"{r['face_recall']:.2f} (real {r['real']['face_recall']:.2f}), animeface finds {r['detected_share']:.1%} "
              f"(real {r['real']['detected_share']:.1%}, untrained {r['untrained']['detected_share']:.1%})")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
