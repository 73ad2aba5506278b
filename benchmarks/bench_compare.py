"""Before/after speed of the trainer: this checkout against another one (a worktree of an earlier commit).

    python benchmarks/bench_compare.py [--before HEAD|<commit>|<folder>] [--repeats 3] [--dense-steps 3000] [--dcgan-steps 8]

``--before`` is a checkout (e.g. ``git worktree add /tmp/before <commit>``) or a git revision,
exported into a temporary folder (default HEAD: the working tree against its last commit).

Each measurement is a fresh process that imports ganpipe from one checkout's ``src`` and trains that
checkout's own default section (``train.mnist``, then ``train.anime`` on random 64x64 faces) the way
its train stage does, after a warm-up that compiles. Where a checkout's sections have the keys that
came later (EMA, augmentation, scored snapshots, a narrower anime network), they are set back to
the earlier behaviour, so the trainer itself is compared on the same work; the two checkouts alternate, ``--repeats`` times
each, and the medians are compared (this host's run-to-run noise exceeds 20%: never trust one run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]


def child(args) -> None:
    """Time ``args.section`` of the checkout whose src is first on sys.path; print one JSON line."""
    import dataclasses
    import time

    import numpy as np

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.training import gan as gan_module
    from ganpipe.training.networks import build_networks

    cfg = load_section(Path(args.checkout) / "params.yaml", f"train.{args.section}", TrainConfig)
    if hasattr(cfg, "ema_half_life"):  # the trainer alone, on yesterday's settings: no average, augmentation, scoring
        cfg = dataclasses.replace(cfg, ema_half_life=0.0, augment=(), eval_interval=0)
        if args.section == "anime":  # yesterday's network, precision and compilation
            cfg = dataclasses.replace(cfg, model={}, precision="float32", xla=False, steps_per_execution=1)
    if args.section == "anime":
        images = np.random.default_rng(0).integers(0, 256, (1024, 64, 64, 3), dtype=np.uint8)  # speed only
    else:
        from ganpipe.data.binfmt import read_split

        images = read_split(args.data, "Train").images
    generator, discriminator = build_networks(cfg, images.shape[1:], seed=0)
    import inspect

    if len(inspect.signature(gan_module.ArraySampler).parameters) > 1:  # since data kinds: the kind scales batches
        from ganpipe.data.kinds import DIGITS

        sampler = gan_module.ArraySampler(images, DIGITS.to_network)  # uint8 images of either kind scale alike
    else:
        sampler = gan_module.ArraySampler(images)
    per_call = getattr(cfg, "steps_per_execution", getattr(cfg, "steps_per_call", 1))
    if hasattr(gan_module, "build_gan"):  # fit-based trainer
        gan = gan_module.build_gan(cfg, generator, discriminator, sampler)

        def run(count):
            gan.fit(gan.steps(gan.steps_done + count), epochs=1, verbose=0, shuffle=False)
    else:  # the hand-written compiled loop
        gan = gan_module.GAN.from_config(cfg, generator, discriminator, sampler)
        done = [0]

        def run(count):
            gan.train_steps(done[0], count)
            done[0] += count
    run(2 * per_call)  # compile
    started = time.perf_counter()
    run(args.steps)
    rate = args.steps / (time.perf_counter() - started)
    print("RESULT " + json.dumps({"steps_per_s": rate, "per_call": per_call, "xla": cfg.xla}), flush=True)


def measure(checkout: Path, section: str, steps: int, data: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(checkout / "src"), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, str(HERE), "--child", "--checkout", str(checkout), "--section", section,
                           "--steps", str(steps), "--data", str(data)], env=env, capture_output=True, text=True,
                          timeout=1800)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise SystemExit(f"{checkout} {section} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="HEAD", help="the other checkout's folder, or a git revision (default HEAD)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dense-steps", type=int, default=3000)
    p.add_argument("--dcgan-steps", type=int, default=8)
    p.add_argument("--only", choices=("mnist", "anime"), default=None)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--checkout", help=argparse.SUPPRESS)
    p.add_argument("--section", help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args)
        return 0
    sys.path.insert(0, str(REPO / "src"))
    from inputs import checkout, mnist_folder
    from machine import cpu_line

    before = checkout(args.before)
    data = mnist_folder()

    print(f"CPU: {cpu_line()}; median of {args.repeats} fresh processes each, alternating")
    checkouts = {"before": before, "after": REPO}
    for section, steps in (("mnist", args.dense_steps), ("anime", args.dcgan_steps)):
        if args.only not in (None, section):
            continue
        runs = {name: [] for name in checkouts}
        for _ in range(args.repeats):
            for name, checkout in checkouts.items():
                runs[name].append(measure(checkout, section, steps, data))
        medians = {name: statistics.median(r["steps_per_s"] for r in rs) for name, rs in runs.items()}
        for name, rs in runs.items():
            rates = ", ".join(f"{r['steps_per_s']:.2f}" for r in rs)
            print(f"[{section}] {name:<6} steps per call {rs[0]['per_call']:>2}, xla {str(rs[0]['xla']):<5}: "
                  f"median {medians[name]:8.2f} steps/s ({rates})")
        print(f"[{section}] after / before: {medians['after'] / medians['before']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
