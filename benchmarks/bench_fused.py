"""Keras' own train function against GAN's fused execution, side by side in one process.

    python benchmarks/bench_fused.py [--repeats 7] [--steps 2000] [--full]

Both train the mnist default section of params.yaml (``--full``: with its EMA and augmentation;
otherwise those and the snapshots off, the trainer alone) from the same seed; they alternate,
``--repeats`` times ``--steps`` steps each, after a warm-up that compiles. Keras 3.15's ``fit``
with ``jit_compile`` calls one XLA-compiled step per step from a while loop; ``GAN``'s train
function runs each execution (``steps_per_execution`` steps) as one XLA program. Prints each
one's median and best steps/s, and whether the two generators' weights are still equal.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--full", action="store_true", help="keep the section's EMA and augmentation")
    p.add_argument("--data", type=Path, default=None, help="prepared digits (default data/mnist, else the offline ones)")
    args = p.parse_args(argv)

    import keras

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.data.kinds import load_training_data
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    from inputs import mnist_folder

    kind, images = load_training_data(mnist_folder(args.data))
    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    cfg = dataclasses.replace(cfg, eval_interval=0, **({} if args.full else dict(ema_half_life=0.0, augment=())))
    gans = {}
    for name in ("keras", "fused"):
        generator, discriminator = build_networks(cfg, images.shape[1:], seed=cfg.seed)
        gan = build_gan(cfg, generator, discriminator, ArraySampler(images, kind.to_network))
        if name == "keras":  # Keras' own function: fit uses a train function that is already there
            keras.Model.make_train_function(gan, force=True)
        gan.fit(gan.steps(4 * cfg.steps_per_execution), epochs=1, verbose=0, shuffle=False)  # compile
        gans[name] = gan
    rates = {name: [] for name in gans}
    for _ in range(args.repeats):
        for name, gan in gans.items():
            started = time.perf_counter()
            gan.fit(gan.steps(gan.steps_done + args.steps), epochs=1, verbose=0, shuffle=False)
            rates[name].append(args.steps / (time.perf_counter() - started))
    for name, values in rates.items():
        print(f"{name:5s}: median {statistics.median(values):7.1f} steps/s, best {max(values):7.1f} "
              f"({', '.join(f'{v:.0f}' for v in values)})")
    same = all(np.array_equal(a, b) for a, b in zip(gans["keras"].generator.get_weights(),
                                                     gans["fused"].generator.get_weights()))
    print(f"fused / keras (medians): {statistics.median(rates['fused']) / statistics.median(rates['keras']):.2f}; "
          f"generator weights equal after {gans['fused'].steps_done} steps each: {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
