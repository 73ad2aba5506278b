"""Anime-face GAN variants at equal wall-clock: which gives the best faces per CPU-minute?

    python benchmarks/anime_variants.py --budget 150 --seeds 0 \
        --variant seed: \
        --variant w32:model={width: 32} \
        --variant w32-resize:model={width: 32, upsample: resize} \
        --variant w32-ema:model={width: 32};ema_half_life=20000;ema_rampup=0.05

Each variant is ``train.anime`` of params.yaml with ``;``-separated ``key=value`` overrides (YAML
values). Its seconds per step are timed first (after a warm-up that compiles), then it trains
for as many steps as fit in ``--budget`` seconds, scoring snapshots on the way (face FID, live
and EMA), and its exported generator is scored like the evaluate_faces stage does: face FID against
half the real faces (the other half gives the floor) and the share of faces animeface detects.
Needs the prepared faces (data/anime) and their picture scorer (models/anime_features):
``dvc repro face_features@anime`` (without them it says so and stops). Without ``--variant``, the section as it is.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    changes = {}
    for item in filter(None, (part.strip() for part in rest.split(";"))):
        key, _, value = item.partition("=")
        changes[key.strip()] = yaml.safe_load(value)
    return name, changes


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=150.0, help="training seconds per variant")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variant", action="append", default=None,
                   help="NAME:key=value;key=value (default: settings:, the section as it is)")
    p.add_argument("--data", type=Path, default=REPO / "data" / "anime")
    p.add_argument("--features", type=Path, default=REPO / "models" / "anime_features")
    p.add_argument("--every", type=int, default=50, help="steps between scored snapshots")
    p.add_argument("--steps", type=int, default=0, help="train this many steps instead of for --budget seconds")
    args = p.parse_args(argv)
    missing = [str(path) for path in (args.data, args.features) if not path.exists()]
    if missing:
        print(f"anime_variants: skipped: needs {', '.join(missing)} (dvc repro face_features@anime)")
        return 0
    variants = args.variant or ["settings:"]

    import keras

    from ganpipe.config import EvaluateFacesConfig, TrainConfig, load_section
    from ganpipe.stages.evaluate_faces import evaluate_face_run
    from ganpipe.data.kinds import load_training_data

    kind, faces = load_training_data(args.data)
    base = load_section(REPO / "params.yaml", "train.anime", TrainConfig)
    ecfg = load_section(REPO / "params.yaml", "evaluate_faces", EvaluateFacesConfig)
    tmp = Path(tempfile.mkdtemp())
    from ganpipe.training.run import exported_generators
    from ganpipe.training.callbacks import QualitySnapshots
    from ganpipe.training.export import GeneratorSpec, save_models
    from ganpipe.training import hardware
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    scorer = kind.scorer(Path(args.data), args.features)
    table = []
    for name, changes in map(parse_variant, variants):
        for seed in args.seeds:
            cfg, _ = hardware.resolve(dataclasses.replace(base, seed=seed, **changes))
            generator, discriminator = build_networks(cfg, faces.shape[1:], seed=seed)
            gan = build_gan(cfg, generator, discriminator, ArraySampler(faces, kind.to_network))
            spec = dataclasses.replace(GeneratorSpec.from_config(cfg, run=name, kind=kind, output_shape=faces.shape[1:]),
                                       steps=0)
            snapshots = QualitySnapshots(args.every, 10 ** 9, scorer=scorer,
                                         noise=spec.noise_batch(seed, 500, stream=-2))
            started = time.perf_counter()

            class Budget(keras.callbacks.Callback):
                def on_train_batch_end(self, batch, logs=None):
                    if (self.model.steps_done >= args.steps if args.steps
                            else time.perf_counter() - started - snapshots.seconds >= args.budget):
                        self.model.stop_training = True

            gan.fit(gan.steps(10 ** 9), epochs=1, verbose=0, shuffle=False, callbacks=[snapshots, Budget()])
            train_s = time.perf_counter() - started - snapshots.seconds
            steps = gan.steps_done
            if not snapshots.curve or snapshots.curve[-1][0] != steps:
                snapshots.snapshot(steps)
            out = tmp / f"{name}-{seed}"
            best, beside = exported_generators(gan, snapshots)
            save_models(out / "m", best, discriminator, spec=dataclasses.replace(spec, steps=steps), extra=beside)
            quality = evaluate_face_run(ecfg, data_dir=args.data, features_dir=args.features, models_dir=out / "m",
                                        reports_dir=out)
            curve = " ".join(f"{int(r[0])}:{r[1]:.0f}" + (f"/{r[2]:.0f}" if np.isfinite(r[2]) else "")
                             for r in snapshots.curve)
            row = {"variant": name, "seed": seed, "s_per_step": train_s / steps, "steps": steps, "train_s": train_s,
                   "face_fid": quality["face_fid"], "detected": quality["detected_share"]}
            table.append(row)
            print(f"{name:<16} seed {seed}: {steps} steps in {train_s:4.0f} s ({row['s_per_step']:.2f} s/step); "
                  f"face FID {quality['face_fid']:7.1f}, animeface {quality['detected_share']:.0%}; best snapshot "
                  f"{snapshots.best[1]} ({snapshots.best[2]}); curve (step:live/ema) {curve}", flush=True)
            keras.backend.clear_session()
    print("\nvariant           s/step  steps  train s  face FID (median, min-max)  detected (median)")
    for name in dict.fromkeys(r["variant"] for r in table):
        rows = [r for r in table if r["variant"] == name]
        fid = [r["face_fid"] for r in rows]
        print(f"{name:<16} {np.median([r['s_per_step'] for r in rows]):6.2f} {int(np.median([r['steps'] for r in rows])):6d}"
              f" {np.median([r['train_s'] for r in rows]):8.0f}  {np.median(fid):7.1f} ({min(fid):.1f}-{max(fid):.1f})"
              f"      {np.median([r['detected'] for r in rows]):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
