"""Does the picture scorer (stage face_features) rank known cases right? Prints a Markdown table.

    GANPIPE_THREADS=1 python benchmarks/validate_faces.py --work /tmp/validate_faces \
        --icons /tmp/icons/data_tango

The real faces (data/anime) are split in two halves. Scorer A is trained (as the face_features stage
does, seed 0) on the first half; its reference is that half. Every test set is drawn from the second,
held-out half, at the same n as the reference:

- graded corruptions of held-out faces (noise, blur, erasing, elastic distortion; level 0 = the floor):
  the score must rise with the level;
- mixed halves (the top half of one held-out face over the bottom half of another);
- dropped hair colours: the held-out faces are clustered (k-means) by the mean colour of their top
  rows; a set missing 1, 2, 3 of the clusters (the missing faces replaced by faces of the others)
  must score higher the more are missing;
- the blurs of briefly trained generators (the panel's 100-step EMA and live weights) must score far
  from the floor;
- the same protocol on ``--icons`` (a faces.bin folder of other real pictures, e.g. icon themes
  prepared with prepare_pictures, detect: false): a scorer trained on half of them, a 100-step
  generator trained on them;
- a panel of face generators (EMA and live weights at several steps of short anime runs), scored
  by scorer A and by scorer B (seed 1, trained on the other half): Spearman correlation of the two
  rankings.

Generators' samples are cached under ``--work`` (``panel/``); delete it to train them again.
"""

from __future__ import annotations

import ganpipe  # noqa: F401  (applies GANPIPE_THREADS before TensorFlow and NumPy load)

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# the panel: (name, train.anime overrides, seed, steps at which EMA and live samples are drawn)
PANEL_RUNS = (
    ("default-s0", {}, 0, (100, 200, 400, 800)),
    ("default-s1", {}, 1, (100, 200, 400)),
)
PANEL_SAMPLES = 500
PANEL_NOISE_SEED = 1234


def train_panel(faces: np.ndarray, out: Path, runs=PANEL_RUNS, samples: int = PANEL_SAMPLES) -> dict[str, np.ndarray]:
    """Train each run of ``runs`` on ``faces`` and keep uint8 samples of its EMA and live generators at the
    listed steps, cached as ``out/<run>-<step>-<ema|live>.npy``; return {those names: samples}."""
    import keras

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.evaluation.faces import to_uint8
    from ganpipe.training import hardware
    from ganpipe.training.export import GeneratorSpec
    from ganpipe.data.kinds import PICTURES
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    out.mkdir(parents=True, exist_ok=True)
    base = load_section(REPO / "params.yaml", "train.anime", TrainConfig)
    result = {}
    for name, changes, seed, steps in runs:
        names = [f"{name}-{s}-{w}" for s in steps for w in ("ema", "live")]
        first = name == runs[0][0]  # its untrained generator is the ceiling
        if all((out / f"{n}.npy").is_file() for n in names) and (not first or (out / "untrained.npy").is_file()):
            result.update({n: np.load(out / f"{n}.npy") for n in names + ["untrained"] * first})
            continue
        # XLA off: with GANPIPE_THREADS=1 on a shared 2-core machine, the XLA step ran 8x slower (4.5 s vs 0.6 s)
        cfg, _ = hardware.resolve(dataclasses.replace(base, seed=seed, eval_interval=0, xla=False,
                                                      precision="float32", **changes))
        generator, discriminator = build_networks(cfg, faces.shape[1:], seed=seed)
        gan = build_gan(cfg, generator, discriminator, ArraySampler(faces, PICTURES.to_network))
        spec = dataclasses.replace(GeneratorSpec.from_config(cfg, run=name, kind=PICTURES, output_shape=faces.shape[1:]),
                                   steps=0)
        noise = spec.noise_batch(PANEL_NOISE_SEED, samples)
        wanted = set(steps)
        if first:
            images = to_uint8(np.asarray(generator.predict(noise, batch_size=250, verbose=0)))
            np.save(out / "untrained.npy", images)
            result["untrained"] = images
        if all((out / f"{n}.npy").is_file() for n in names):
            result.update({n: np.load(out / f"{n}.npy") for n in names})
            continue

        class Keep(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                done = int(self.model.steps_done)
                if done in wanted:
                    wanted.discard(done)
                    for which, net in (("ema", self.model.ema_generator), ("live", self.model.generator)):
                        images = to_uint8(np.asarray(net.predict(noise, batch_size=250, verbose=0)))
                        np.save(out / f"{name}-{done}-{which}.npy", images)
                        result[f"{name}-{done}-{which}"] = images
                if not wanted:
                    self.model.stop_training = True

        started = time.perf_counter()
        gan.fit(gan.steps(max(steps)), epochs=1, verbose=0, shuffle=False, callbacks=[Keep()])
        print(f"panel {name}: {max(steps)} steps in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        keras.backend.clear_session()
    return result


# face sets are ~64 px, the corruptions' levels are in 28-px units (corruptions.elastic_level): at the
# judge's levels (4-16) a face moves by under a pixel, so the faces' elastic levels are stronger
FACE_LEVELS = {"noise": (0.1, 0.2, 0.4), "blur": (0.5, 1.0, 1.5), "erase": (0.05, 0.15, 0.3),
               "elastic": (32.0, 64.0, 128.0)}
HAIR_GROUPS = 4


def known_cases(held: np.ndarray, count: int, panel: dict[str, np.ndarray]) -> list[tuple[str, str, np.ndarray]]:
    """(case, level, uint8 images) of the validation table, from held-out real pictures ``held``."""
    from ganpipe.evaluation import corruptions
    from ganpipe.evaluation.faces import hair_colour_groups, mixed_halves, to_uint8, without_groups

    real = held[:count]
    cases = [("real (floor)", "", real)]
    as_float = real.astype(np.float32) / 127.5 - 1.0
    for name, levels in FACE_LEVELS.items():
        function = corruptions.GRADED[name][0]
        cases += [(name, f"{level:g}", to_uint8(function(as_float, level, seed=1))) for level in levels]
    cases.append(("mixed halves", "", mixed_halves(real, seed=2)))
    labels = hair_colour_groups(held, HAIR_GROUPS, seed=0)
    cases += [("hair colours dropped", f"{d} of {HAIR_GROUPS}", without_groups(held, labels, d, count, seed=3))
              for d in range(HAIR_GROUPS)]
    cases += [(f"generator {name.rsplit('-', 2)[0]}", name.split("-", 2)[-1], images[:count])
              for name, images in sorted(panel.items()) if "-100-" in name]
    if "untrained" in panel:
        cases.append(("untrained generator (ceiling)", "", panel["untrained"][:count]))
    return cases


def scored(features: np.ndarray, reference: np.ndarray) -> tuple[float, float, float, float]:
    """(FID, its bootstrap std over 10 rounds, KID, its std over 50 subsets of at most half the set)."""
    from ganpipe.evaluation import metrics

    kid, kid_std = metrics.kid(features, reference, seed=0)
    return (*metrics.frechet_bootstrap(features, reference, rounds=10, seed=0), kid, kid_std)


def halves(pictures: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(pictures))
    half = len(pictures) // 2
    return pictures[order[:half]], pictures[order[half:2 * half]]


def train_scorer(pictures: np.ndarray, seed: int):
    """(the new scorer, the previous scorer's features: its bottleneck, seconds to train) on ``pictures``."""
    import keras

    from ganpipe.config import FaceFeaturesConfig, load_section
    from ganpipe.evaluation.face_features import CODE_LAYER, train_face_features

    cfg = load_section(REPO / "params.yaml", "face_features", FaceFeaturesConfig)
    started = time.perf_counter()
    model, _ = train_face_features(pictures, epochs=cfg.epochs, batch_size=cfg.batch_size,
                                   feature_dim=cfg.feature_dim, seed=seed)
    seconds = time.perf_counter() - started
    return model, keras.Model(model.input, model.get_layer(CODE_LAYER).output), seconds


def bottleneck(code_model, images: np.ndarray) -> np.ndarray:
    import keras

    from ganpipe.evaluation.judge import scale

    return np.concatenate([keras.ops.convert_to_numpy(code_model(scale(images[i:i + 256]), training=False))
                           for i in range(0, len(images), 256)]).astype(np.float64)


def validation_table(title: str, cases, model, code_model, reference: np.ndarray) -> list[str]:
    """Markdown rows: each case's FID and KID with their noise (the scorer: whitened principal components of
    the multi-scale features) and FID (the bottleneck alone, the previous scorer)."""
    from ganpipe.evaluation import metrics
    from ganpipe.evaluation.face_features import face_features

    ref_new, ref_old = face_features(model, reference), bottleneck(code_model, reference)
    lines = [f"\n**{title}** (n = {len(reference)} against {len(reference)} real reference pictures)\n",
             "| case | level | FID (± std) | KID x 1000 (± std) | FID / floor | previous scorer: FID "
             "| previous: / floor |",
             "|---|---|---|---|---|---|---|"]
    floor = None
    for case, level, images in cases:
        started = time.perf_counter()
        fid, fid_std, kid, kid_std = scored(face_features(model, images), ref_new)
        old = metrics.frechet_distance(bottleneck(code_model, images), ref_old)
        floor = floor or (fid, old)
        lines.append(f"| {case} | {level} | {fid:.2f} ± {fid_std:.2f} | {kid * 1e3:.1f} ± {kid_std * 1e3:.1f} "
                     f"| {fid / floor[0]:.1f} | {old:.2f} | {old / floor[1]:.1f} |")
        print(f"  {case} {level}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return lines


def panel_agreement(panel: dict[str, np.ndarray], scorers) -> tuple[list[str], float, float]:
    """Rows of each panel generator's FID under each scorer; Spearman of the new scorers and of the previous."""
    from scipy.stats import spearmanr

    from ganpipe.evaluation.face_features import face_features
    from ganpipe.evaluation import metrics

    names = [n for n in sorted(panel) if n != "untrained"]
    table = {n: [] for n in names}
    for model, code_model, reference in scorers:
        ref_new, ref_old = face_features(model, reference), bottleneck(code_model, reference)
        for n in names:
            images = panel[n][:len(reference)]
            table[n] += [metrics.frechet_distance(face_features(model, images), ref_new),
                         metrics.frechet_distance(bottleneck(code_model, images), ref_old)]
    values = np.array([table[n] for n in names])
    rho_new = spearmanr(values[:, 0], values[:, 2]).statistic
    rho_old = spearmanr(values[:, 1], values[:, 3]).statistic
    lines = ["| generator | scorer A | scorer B | previous A | previous B |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {v[0]:.1f} | {v[2]:.1f} | {v[1]:.2f} | {v[3]:.2f} |" for n, v in zip(names, values)]
    return lines, float(rho_new), float(rho_old)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / "data" / "anime")
    p.add_argument("--icons", type=Path, default=None, help="a prepared folder (faces.bin) of other real pictures")
    p.add_argument("--work", type=Path, default=Path("/tmp/validate_faces"), help="cache of generators' samples")
    p.add_argument("--count", type=int, default=500, help="pictures per set (at most half the real ones)")
    args = p.parse_args(argv)
    sys.path.insert(0, str(REPO / "benchmarks"))
    from machine import cpu_line

    from ganpipe.data.kinds import PICTURES, load_kind

    print(f"CPU: {cpu_line()}\n")
    faces = load_kind(args.data, PICTURES, "validate_faces")
    first, second = halves(faces)
    count = min(args.count, len(first))
    model_a, code_a, seconds_a = train_scorer(first, seed=0)
    model_b, code_b, seconds_b = train_scorer(second, seed=1)
    print(f"scorers trained in {seconds_a:.0f} s and {seconds_b:.0f} s on {len(first)} faces each")
    lines = validation_table(f"{args.data.name}: scorer A (seed 0, trained on one half), held-out half",
                             known_cases(second, count, train_panel(faces, args.work / "panel", runs=PANEL_RUNS[:1])),
                             model_a, code_a, first[:count])
    print("\n".join(lines), flush=True)
    panel = train_panel(faces, args.work / "panel")
    rows, rho, rho_old = panel_agreement(panel, [(model_a, code_a, first[:count]), (model_b, code_b, second[:count])])
    print(f"\n**Panel**: {len(rows) - 2} generators; Spearman of scorer A (seed 0, one half) and scorer B "
          f"(seed 1, the other half): {rho:.3f} (previous scorer: {rho_old:.3f})\n")
    print("\n".join(rows), flush=True)
    if args.icons:
        icons = load_kind(args.icons, PICTURES, "validate_faces")
        icon_panel = train_panel(icons, args.work / f"panel-{args.icons.name}",
                                 runs=(("icons-s0", {}, 0, (100,)),), samples=len(icons))
        train_i, held_i = halves(icons)
        model_i, code_i, _ = train_scorer(train_i, seed=0)
        n = len(train_i)
        cases = [("real (floor)", "", held_i[:n])] + [c for c in known_cases(held_i, n, icon_panel)
                                                        if c[0].startswith(("generator", "untrained", "blur", "noise"))]
        print("\n".join(validation_table(f"{args.icons}: a scorer trained on one half, the held-out half",
                                          cases, model_i, code_i, train_i[:n])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
