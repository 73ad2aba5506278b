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
Needs the prepared faces (data/anime) and the face_features model (models/face_features):
``dvc repro face_features``.
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


def seconds_per_step(cfg, faces, steps: int = 4) -> float:
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    generator, discriminator = build_networks(cfg, faces.shape[1:], seed=cfg.seed)
    gan = build_gan(cfg, generator, discriminator, ArraySampler(faces))
    gan.fit(gan.steps(2), epochs=1, verbose=0, shuffle=False)  # compile
    started = time.perf_counter()
    gan.fit(gan.steps(2 + steps), epochs=1, verbose=0, shuffle=False)
    return (time.perf_counter() - started) / steps


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=float, default=150.0, help="training seconds per variant")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--variant", action="append", required=True, help="NAME:key=value;key=value")
    p.add_argument("--data", type=Path, default=REPO / "data" / "anime")
    p.add_argument("--features", type=Path, default=REPO / "models" / "face_features")
    p.add_argument("--snapshots", type=int, default=6, help="scored snapshots per run")
    args = p.parse_args(argv)

    import keras

    from ganpipe.config import EvaluateFacesConfig, TrainConfig, load_section
    from ganpipe.stages.evaluate_faces import evaluate_face_run
    from ganpipe.stages.train import run_training
    from ganpipe.data.training import load_training_images

    faces = load_training_images(args.data)
    base = load_section(REPO / "params.yaml", "train.anime", TrainConfig)
    ecfg = load_section(REPO / "params.yaml", "evaluate_faces", EvaluateFacesConfig)
    tmp = Path(tempfile.mkdtemp())
    table = []
    for name, changes in map(parse_variant, args.variant):
        for seed in args.seeds:
            cfg = dataclasses.replace(base, seed=seed, checkpoint_interval=0, fresh_sample_interval=0, **changes)
            per_step = seconds_per_step(cfg, faces)
            keras.backend.clear_session()
            steps = max(args.snapshots, int(args.budget / per_step) // args.snapshots * args.snapshots)
            cfg = dataclasses.replace(cfg, epochs=steps, eval_interval=steps // args.snapshots, eval_samples=500,
                                      sample_interval=steps, history_interval=max(1, steps // 20))
            out = tmp / f"{name}-{seed}"
            result = run_training(cfg, data_dir=args.data, models_dir=out / "m", reports_dir=out / "r",
                                  progress=False, features_dir=args.features)
            quality = evaluate_face_run(ecfg, data_dir=args.data, features_dir=args.features, models_dir=out / "m",
                                        reports_dir=out / "r")
            curve = (out / "r" / "plots" / "metrics" / "quality").glob("*.tsv")
            curves = {path.stem: [line.split("\t")[1][:6] for line in path.read_text().splitlines()[1:]]
                      for path in sorted(curve)}
            row = {"variant": name, "seed": seed, "s_per_step": per_step, "steps": steps,
                   "train_s": result.wall_time_s, "face_fid": quality["face_fid"],
                   "detected": quality["detected_share"], "best": result.final.get("best_step"),
                   "weights": result.final.get("best_weights")}
            table.append(row)
            print(f"{name:<16} seed {seed}: {per_step:5.2f} s/step x {steps} steps = {result.wall_time_s:5.0f} s; "
                  f"face FID {quality['face_fid']:7.1f}, animeface {quality['detected_share']:.0%}; best snapshot "
                  f"{row['best']} ({row['weights']}); curves {curves}", flush=True)
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
