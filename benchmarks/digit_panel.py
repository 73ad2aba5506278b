"""A panel of digit generators for validating scorers: several runs, their live and EMA weights at
several steps, each kept as a fixed set of generated digits.

    python benchmarks/digit_panel.py [--out tmp/panel] [--samples 5000] [--at 4000 8000] \
        [--run "default:" --run "no-augment:augment=[]" ...] [--seed 0]

Each ``--run NAME:KEY=VALUE;KEY=VALUE`` trains ``train.mnist`` of params.yaml with those overrides
(``epochs`` defaults to the largest ``--at``) on the offline digits, and at every step of ``--at``
that it reaches writes ``<out>/<name>@<step>_{live,ema}.npy``: ``--samples`` generated digits, uint8
(n, 28, 28, 1), from the fixed evaluation noise (seed 1234). The default runs are the four settings
of issue 17, whose order an independent judge measured: ``10k-no-augment`` < ``no-augment`` <=
``default`` < ``lr2e-4``, and the EMA clearly better than the live weights in each.
``benchmarks/validate_digits.py`` scores the panel.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

RUNS = (
    "default:",
    "no-augment:augment=[]",
    "lr2e-4:lr=0.0002;d_lr=0.0002",
    "10k-no-augment:augment=[];lr=0.0002;d_lr=0.0002;epochs=10000",
)


def parse_run(text: str) -> tuple[str, dict]:
    import yaml

    name, _, rest = text.partition(":")
    pairs = [item.split("=", 1) for item in rest.split(";") if item.strip()]
    return name, {key.strip(): yaml.safe_load(value) for key, value in pairs}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO / "tmp" / "panel")
    p.add_argument("--run", action="append", default=None, help="NAME:KEY=VALUE;... (default: the four of issue 17)")
    p.add_argument("--at", type=int, nargs="+", default=[4000, 8000])
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    import keras

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.evaluation.faces import to_uint8
    from inputs import mnist_folder
    from ganpipe.training.run import RunPaths, train_run
    from ganpipe.training.callbacks import StepCallback
    from ganpipe.training.gan import fixed_noise, generate

    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp())
    digits = mnist_folder(offline=True)  # the offline digits, whatever data/mnist holds
    base = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)

    class Keep(StepCallback):
        def __init__(self, name, at):
            super().__init__()
            self.name, self.at = name, at
            self.noise = fixed_noise(1234, args.samples, base.latent_dim, base.noise)

        def on_steps(self, first, done):
            for step in self.at:
                if first < step <= done:
                    nets = {"live": self.model.generator, "ema": self.model.ema_generator}
                    for kind, net in nets.items():
                        if net is not None:
                            np.save(args.out / f"{self.name}@{step}_{kind}.npy", to_uint8(generate(net, self.noise)))
                    print(f"{self.name}: kept step {step}", flush=True)

    for text in args.run or RUNS:
        name, overrides = parse_run(text)
        overrides.setdefault("epochs", max(args.at))
        at = sorted({s for s in args.at if s <= overrides["epochs"]} | {overrides["epochs"]})
        cfg = dataclasses.replace(base, seed=args.seed, checkpoint_interval=0, sample_interval=overrides["epochs"],
                                  eval_interval=0, fresh_sample_interval=0, **overrides)
        started = time.perf_counter()
        train_run(cfg, RunPaths(data=digits, models=tmp / f"m-{name}", reports=tmp / f"r-{name}"),
                     progress=False, callbacks=[Keep(name, at)])
        print(f"{name}: {cfg.epochs} steps in {time.perf_counter() - started:.0f} s", flush=True)
        keras.backend.clear_session()
    return 0


if __name__ == "__main__":
    sys.exit(main())
