"""Validate the digit judge as a yardstick: does its score rank known cases right?

    python benchmarks/validate_digits.py [--panel tmp/panel] [--out tmp/validate_digits.json]

Trains three judges like the judge stage does: the stage's own (seed 0, all 4,000 training digits)
and two twins trained independently (seed 1 on one half of the training digits, seed 2 on the other
half). Prints Markdown tables of:

1. graded corruptions of real digits (noise, blur, erasing, elastic distortion; corruptions.GRADED):
   the 4,000 training digits, corrupted, against the 1,000 unseen test digits: each score must rise
   with the level;
2. classes dropped: the training digits without 0, 1, 3 or 5 of their classes (the rest resampled
   to 4,000): the score must rise with the number dropped;
3. the generator panel of ``benchmarks/digit_panel.py`` (each set of 5,000 digits), scored by each
   judge, with the Spearman correlation of every pair of judges over the panel, and the orderings
   the independent judge of issue 17 measured: the EMA clearly better than the live weights in each
   run, and 10k-no-augment < no-augment <= default < lr2e-4 (the EMA at each run's end).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--panel", type=Path, default=REPO / "tmp" / "panel")
    p.add_argument("--out", type=Path, default=REPO / "tmp" / "validate_digits.json")
    p.add_argument("--epochs", type=int, default=None, help="judge passes (default: params.yaml judge.epochs)")
    args = p.parse_args(argv)

    from ganpipe.config import JudgeConfig, load_section
    from ganpipe.data.binfmt import read_split
    from ganpipe.evaluation import corruptions, metrics
    from ganpipe.evaluation.judge import accuracy, judge_outputs, scale, train_judge
    from inputs import mnist_folder

    digits = mnist_folder(offline=True)  # the offline digits, whatever data/mnist holds
    train, test = read_split(digits, "Train"), read_split(digits, "Test")
    jcfg = load_section(REPO / "params.yaml", "judge", JudgeConfig)
    epochs = args.epochs or jcfg.epochs
    half = np.random.default_rng(0).permutation(len(train)) < len(train) // 2
    judges = {}
    for name, seed, rows in (("stage", jcfg.seed, np.ones(len(train), bool)), ("twin A", 1, half), ("twin B", 2, ~half)):
        started = time.perf_counter()
        judges[name] = train_judge(train.images[rows], train.labels[rows], epochs=epochs,
                                   batch_size=jcfg.batch_size, seed=seed)
        print(f"judge {name}: seed {seed}, {rows.sum()} digits, {time.perf_counter() - started:.0f} s, "
              f"test accuracy {accuracy(judges[name], test.images, test.labels):.4f}", flush=True)
    refs = {name: judge_outputs(j, test.images)[0] for name, j in judges.items()}
    report = {"accuracy": {name: accuracy(j, test.images, test.labels) for name, j in judges.items()}}

    def scores(name, images) -> dict:
        """The evaluate stage's distances (metrics.feature_scores) in judge ``name``'s features."""
        return metrics.feature_scores(judge_outputs(judges[name], images)[0], refs[name], prefix="")

    real = scale(train.images)
    print("\n### Graded corruptions of the training digits (stage judge; 4,000 vs the 1,000 test digits)\n")
    print("| corruption | level | FID ± std | KID x 1e3 ± std | precision | recall |\n|---|---|---|---|---|---|")
    report["corruptions"] = {}
    for kind, (fn, levels) in corruptions.GRADED.items():
        rows = []
        for level in levels:
            s = scores("stage", fn(real, level, seed=1))
            rows.append(s)
            print(f"| {kind} | {level} | {s['fid']:.2f} ± {s['fid_std']:.2f} | {1e3 * s['kid']:.2f} ± {1e3 * s['kid_std']:.2f} "
                  f"| {s['precision']:.3f} | {s['recall']:.3f} |", flush=True)
        report["corruptions"][kind] = {"levels": list(levels), "scores": rows,
                                       "fid_rises": bool(np.all(np.diff([r["fid"] for r in rows]) > 0)),
                                       "kid_rises": bool(np.all(np.diff([r["kid"] for r in rows]) > 0))}

    print("\n### Classes dropped (stage judge; 4,000 training digits resampled from the classes kept)\n")
    print("| classes dropped | FID ± std | KID x 1e3 ± std | precision | recall |\n|---|---|---|---|---|")
    rng = np.random.default_rng(3)
    dropped_rows = []
    for dropped in (0, 1, 3, 5):
        keep = ~np.isin(train.labels, np.arange(dropped))
        pick = rng.choice(np.flatnonzero(keep), len(train), replace=keep.sum() < len(train))
        s = scores("stage", real[pick])
        dropped_rows.append(s)
        print(f"| {dropped} | {s['fid']:.2f} ± {s['fid_std']:.2f} | {1e3 * s['kid']:.2f} ± {1e3 * s['kid_std']:.2f} "
              f"| {s['precision']:.3f} | {s['recall']:.3f} |", flush=True)
    report["dropped"] = dropped_rows

    sets = sorted(args.panel.glob("*.npy"))
    if sets:
        print(f"\n### The panel ({len(sets)} generators of {args.panel}), FID ± std by each judge\n")
        names = list(judges)
        print("| generator | " + " | ".join(names) + " | KID x 1e3 (stage) | precision | recall |")
        print("|---" * (len(names) + 4) + "|")
        panel = {}
        for path in sets:
            images = np.load(path)
            panel[path.stem] = {name: scores(name, images) for name in names}
            row = panel[path.stem]
            print(f"| {path.stem} | " + " | ".join(f"{row[n]['fid']:.2f} ± {row[n]['fid_std']:.2f}" for n in names)
                  + f" | {1e3 * row['stage']['kid']:.2f} | {row['stage']['precision']:.3f} | {row['stage']['recall']:.3f} |",
                  flush=True)
        report["panel"] = panel
        keys = list(panel)
        print("\nSpearman correlation of the judges' FIDs over the panel (KID in brackets):")
        report["spearman"] = {}
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                rho = spearman([panel[k][a]["fid"] for k in keys], [panel[k][b]["fid"] for k in keys])
                rho_kid = spearman([panel[k][a]["kid"] for k in keys], [panel[k][b]["kid"] for k in keys])
                report["spearman"][f"{a} / {b}"] = {"fid": rho, "kid": rho_kid}
                print(f"- {a} / {b}: {rho:.3f} ({rho_kid:.3f})")
        print("\nEMA against live weights at the same step (stage judge; FID difference / its noise):")
        for key in keys:
            if key.endswith("_ema") and key[:-4] + "_live" in panel:
                ema, live = panel[key]["stage"], panel[key[:-4] + "_live"]["stage"]
                gap = (live["fid"] - ema["fid"]) / np.hypot(live["fid_std"], ema["fid_std"])
                print(f"- {key[:-4]}: EMA {ema['fid']:.2f}, live {live['fid']:.2f}: {gap:+.1f} sigma")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
