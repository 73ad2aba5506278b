"""Stage evaluate_faces@<experiment>: score a GAN on pictures; reports/<experiment>/quality.json.

The run's data and picture scorer come from ``evaluate_faces.runs.<experiment>`` (written by `ganpipe sync`
from ``runs``), so each run is scored against its own picture set in the feature space of that set's
scorer (stage face_features@<set>). Face FID ± its bootstrap std and face KID ± its std over subsets:
distances between generated and real pictures in that space; precision and recall in it (fidelity and
diversity); and, for a set of anime faces (prepared with ``detect: true``) only, detected share: how many
generated faces animeface recognises. All come with the same numbers for real pictures (floor; its recall
is the real pictures' own split-half recall) and for an untrained generator (ceiling), which go to
quality_details.json beside it, with the number of pictures compared.
"""

from __future__ import annotations

from pathlib import Path

from ..config import EvaluateFacesConfig, load_section
from ..errors import GanpipeError
from . import _entry


def evaluate_face_run(cfg: EvaluateFacesConfig, *, data_dir, features_dir, models_dir, reports_dir) -> dict:
    """Generate ``cfg.samples`` faces from the trained and from an untrained generator; score both.

    How to sample the generator and rebuild its untrained twin comes from ``models_dir``'s generator.json;
    whether animeface is asked (``detected_share``) from ``data_dir``'s manifest (a set of detected faces).
    """
    from ..data.faces import FACES_FILE, holds_detected_faces, read_faces_bin
    from ..data.manifest import check_kind
    from ..evaluation.face_features import FEATURES_FILE
    from ..evaluation import write_quality
    from ..evaluation.faces import evaluate_faces, headline
    from ..evaluation.sampling import load_checked_generator, trained_and_untrained
    from ..training.export import load_made_model

    check_kind(data_dir, "pictures", "evaluate_faces")
    faces = read_faces_bin(Path(data_dir) / FACES_FILE)
    generator, spec = load_checked_generator(models_dir, faces.shape[1:], data_dir)
    if len(faces) < 4:
        raise GanpipeError(f"{data_dir}: {len(faces)} faces; at least 4 are needed for two real sets")
    extractor = load_made_model(Path(features_dir) / FEATURES_FILE, "face_features")
    generated, baseline = trained_and_untrained(generator, spec, seed=cfg.seed, count=cfg.samples)
    detected = holds_detected_faces(data_dir)
    result = evaluate_faces(extractor, generated, baseline, faces, detect_samples=cfg.detect_samples if detected else 0,
                            threshold=cfg.threshold)
    write_quality(reports_dir, result, headline(detected))
    return result


def summary(name: str, r: dict) -> str:
    """The stage's one line: the run's numbers beside the floor and the ceiling."""
    line = (f"evaluate_faces {name}: face FID {r['face_fid']:.2f} ± {r['face_fid_std']:.2f} "
            f"(real {r['real']['face_fid']:.2f}, untrained {r['untrained']['face_fid']:.2f}), recall "
            f"{r['face_recall']:.2f} (real {r['real']['face_recall']:.2f})")
    if "detected_share" in r:
        line += (f", animeface finds {r['detected_share']:.1%} (real {r['real']['detected_share']:.1%}, "
                 f"untrained {r['untrained']['detected_share']:.1%})")
    return line


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.evaluate_faces", __doc__)
    p.add_argument("experiment", help="name of the experiment (a GAN on pictures), for the summary line")
    p.add_argument("--data", required=True, help="prepared picture folder the GAN was trained on (data/<set>)")
    p.add_argument("--features", required=True, help="that set's picture scorer: folder with autoencoder.keras")
    p.add_argument("--models", required=True, help="the experiment's model folder")
    p.add_argument("--reports", required=True, help="the experiment's reports folder")

    def body(args):
        cfg = load_section(args.params, "evaluate_faces", EvaluateFacesConfig)
        r = evaluate_face_run(cfg, data_dir=args.data, features_dir=args.features, models_dir=args.models,
                              reports_dir=args.reports)
        print(summary(args.experiment, r))

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
