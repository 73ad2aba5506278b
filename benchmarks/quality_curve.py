"""Quality against training steps for a digit run, live generator and its moving average, over seeds.

    python benchmarks/quality_curve.py [--section mnist] [--seeds 0 1 2] [--steps 12000] [--every 1000] \
        [--set ema_half_life=20000 --set ema_rampup=0.05] [--out curve.csv]

Trains ``train.<section>`` of params.yaml (with ``--set`` overrides) on the offline digits, and every
``--every`` steps scores the live generator and, when the run keeps one, its EMA with the project's
judge (trained here like the judge stage does): domain FID of 2,000 samples from fixed noise against
the real test digits, modes covered, and the largest class's share of confident predictions.
It uses ganpipe's own ``train_run(callbacks=[...])``: the scoring is one more Keras callback.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def parse_value(text: str):
    import yaml

    return yaml.safe_load(text)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--section", default="mnist")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--steps", type=int, default=12000)
    p.add_argument("--every", type=int, default=1000)
    p.add_argument("--samples", type=int, default=2000)
    p.add_argument("--set", action="append", default=[], help="KEY=VALUE override of the section")
    p.add_argument("--out", type=Path, default=None, help="CSV of every score")
    p.add_argument("--extra-ema", action="append", default=[], metavar="HALF_LIFE:RAMPUP",
                   help="also keep and score this moving average of G (updated once per execution, in "
                        "NumPy): EMA settings do not change training, so one run measures several")
    args = p.parse_args(argv)

    import keras

    from ganpipe.config import JudgeConfig, TrainConfig, load_section
    from ganpipe.data.binfmt import read_split
    from ganpipe.evaluation import metrics
    from ganpipe.evaluation.judge import judge_outputs, train_judge
    from inputs import mnist_folder
    from ganpipe.training.run import RunPaths, train_run
    from ganpipe.training.callbacks import StepCallback, crossed
    from ganpipe.training.gan import fixed_noise, generate

    tmp = Path(tempfile.mkdtemp())
    digits = mnist_folder(offline=True)  # the offline digits, whatever data/mnist holds
    train, test = read_split(digits, "Train"), read_split(digits, "Test")
    jcfg = load_section(REPO / "params.yaml", "judge", JudgeConfig)
    judge = train_judge(train.images, train.labels, epochs=jcfg.epochs, batch_size=jcfg.batch_size, seed=jcfg.seed)
    f_test, _ = judge_outputs(judge, test.images)

    def score(images) -> dict:
        f, probs = judge_outputs(judge, images)
        hist = metrics.class_histogram(probs, confidence=0.9)
        fid, fid_std = metrics.frechet_bootstrap(f, f_test, rounds=10)
        return {"fid": fid, "fid_std": fid_std, "modes": metrics.mode_coverage(probs),
                "largest_share": float(hist.max() / max(hist.sum(), 1))}

    extra = [tuple(float(v) for v in text.split(":")) for text in args.extra_ema]

    class ExtraEMA(StepCallback):
        """Moving averages of G's weights beside the GAN's own, once per execution of ``k`` steps
        (decay 0.5 ** (k x batch / half-life), the half-life capped at rampup x images seen)."""

        def __init__(self, batch_size):
            super().__init__()
            self.batch_size, self.averages, self.nets_ = batch_size, None, None

        def on_steps(self, first, done):
            weights = self.model.generator.get_weights()
            if self.averages is None:
                self.averages = [[w.copy() for w in weights] for _ in extra]
                self.nets_ = [keras.models.clone_model(self.model.generator) for _ in extra]
            for (half_life, rampup), average in zip(extra, self.averages):
                h = min(half_life, rampup * done * self.batch_size) if rampup > 0 else half_life
                beta = 0.5 ** ((done - first) * self.batch_size / max(h, 1e-8))
                for a, w in zip(average, weights):
                    a *= beta
                    a += (1 - beta) * w

        def nets(self):
            for (half_life, rampup), average, net in zip(extra, self.averages or [], self.nets_ or []):
                net.set_weights(average)  # one network each: the caller may hold them all at once
                yield f"ema{half_life:g}:{rampup:g}", net

    base = load_section(REPO / "params.yaml", f"train.{args.section}", TrainConfig)
    overrides = dict(item.split("=", 1) for item in args.set)
    rows = []

    class Scores(StepCallback):
        def __init__(self, seed, averages=None):
            super().__init__()
            self.averages = averages
            self.seed, self.noise = seed, fixed_noise(1234, args.samples, base.latent_dim, base.noise)
            self.started = time.perf_counter()
            self.scoring = 0.0

        def on_steps(self, first, done):
            if not (crossed(first, done, args.every) or done == args.steps):
                return
            t = time.perf_counter()
            nets = {"live": self.model.generator}
            if self.model.ema_generator is not None:
                nets["ema"] = self.model.ema_generator
            pairs = list(nets.items()) + (list(self.averages.nets()) if self.averages is not None else [])
            for name, net in pairs:
                row = {"seed": self.seed, "step": done, "weights": name, **score(generate(net, self.noise))}
                rows.append(row)
                print(f"seed {self.seed} step {done:6d} {name:4s}: FID {row['fid']:7.2f} ± {row['fid_std']:.2f}"
                      f"  modes {row['modes']:2d}  largest class {row['largest_share']:.2f}", flush=True)
            self.scoring += time.perf_counter() - t

    for seed in args.seeds:
        cfg = dataclasses.replace(base, epochs=args.steps, seed=seed, checkpoint_interval=0, sample_interval=args.steps, eval_interval=0,
                                  fresh_sample_interval=0, **{k: parse_value(v) for k, v in overrides.items()})
        averages = ExtraEMA(cfg.batch_size) if extra else None
        scores = Scores(seed, averages)
        result = train_run(cfg, RunPaths(data=digits, models=tmp / f"m{seed}", reports=tmp / f"r{seed}"),
                           progress=False, callbacks=[*([averages] if averages else []), scores])
        print(f"seed {seed}: {result.steps} steps in {result.wall_time_s:.0f} s, of which scoring {scores.scoring:.0f} s",
              flush=True)
        keras.backend.clear_session()
    print("\nmedian over seeds (min-max):")
    for step in sorted({r["step"] for r in rows}):
        for name in dict.fromkeys(r["weights"] for r in rows):
            fids = [r["fid"] for r in rows if r["step"] == step and r["weights"] == name]
            if fids:
                shares = [r["largest_share"] for r in rows if r["step"] == step and r["weights"] == name]
                modes = [r["modes"] for r in rows if r["step"] == step and r["weights"] == name]
                print(f"  step {step:6d} {name:12s}: FID {np.median(fids):7.2f} ({min(fids):.2f}-{max(fids):.2f})"
                      f"  modes {min(modes)}-{max(modes)}  largest class {np.median(shares):.2f}")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
