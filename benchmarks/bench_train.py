"""Speed figures, side by side in one process: the seed recipe vs ganpipe's trainer, and data I/O.

    python benchmarks/bench_train.py [--only mnist|anime|data] [--variants settings|default|all] [--baseline-steps 300]
                                     [--dense-steps 2000] [--dcgan-steps 8]

The baseline is the original program's loop written out here (Keras ``predict`` plus three
``train_on_batch`` calls per step, D frozen for the combined model the Keras 3 way); ganpipe's
trainer is :class:`ganpipe.training.gan.GAN` exactly as the train stage uses it. Both train the
same dense GAN (1,493,520 + 665,089 parameters) on the prepared digits at batch 32. Compile time
is excluded (warm-up steps first); the machine is noisy, so the two are measured in one run.

The anime DCGAN is params.yaml's ``train.anime`` (``xla``/``precision: auto`` resolved as the train
stage resolves them, ganpipe.training.hardware), its seed recipe the same network in the same loop, on
random faces (speed only). Each section's rows: the seed recipe, ganpipe's trainer with the
section's settings, then variants (one step per execution, XLA flipped; ``--variants all``: also
bfloat16 and the DCGAN at batch 64). Rows marked ``bf16`` train with ``precision: mixed_bfloat16``:
the FLOPs are counted the same way, so their GFLOP/s (still shown against the fp32 matmul rate) and
ratio give the speed-up itself. The last lines put the two ratios side by side: ganpipe's trainer
with each section's settings against the seed recipe.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def seed_recipe(images, cfg, *, steps, warmup):
    """The seed programs' loop: returns (steps/s, both nets learned, flops per step)."""
    import keras

    from ganpipe.models.registry import build_gan_models

    from flops import step_flops

    keras.utils.set_random_seed(0)
    batch_size, latent_dim = cfg.batch_size, cfg.latent_dim
    generator, discriminator = build_gan_models(cfg.arch, latent_dim=latent_dim, image_shape=images.shape[1:],
                                                options=cfg.model)
    discriminator.compile(optimizer=keras.optimizers.Adam(cfg.d_lr, beta_1=cfg.beta_1), loss="binary_crossentropy",
                          metrics=["accuracy"])
    z = keras.Input((latent_dim,))
    combined = keras.Model(z, discriminator(generator(z)))
    discriminator.trainable = False
    combined.compile(optimizer=keras.optimizers.Adam(cfg.lr, beta_1=cfg.beta_1), loss="binary_crossentropy")
    x = images.astype(np.float32) / 127.5 - 1.0
    rng = np.random.default_rng(0)

    def targets(bounds):
        return rng.uniform(bounds[0], bounds[1], (batch_size, 1)).astype(np.float32)

    def step():
        real = x[rng.integers(0, len(x), batch_size)]
        noise = rng.standard_normal((batch_size, latent_dim)).astype(np.float32)
        gen = generator.predict(noise, verbose=0)
        discriminator.trainable = True  # Keras 3 reads the flag when a train function is traced
        discriminator.train_on_batch(real, targets(cfg.real_label))
        discriminator.train_on_batch(gen, targets(cfg.fake_label))
        discriminator.trainable = False
        combined.train_on_batch(rng.standard_normal((batch_size, latent_dim)).astype(np.float32), targets(cfg.g_label))

    for _ in range(warmup):
        step()
    d_before = keras.ops.convert_to_numpy(discriminator.weights[0])
    g_before = keras.ops.convert_to_numpy(generator.weights[0])
    started = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - started
    learned = not np.allclose(d_before, discriminator.weights[0]) and not np.allclose(g_before, generator.weights[0])
    return steps / elapsed, learned, step_flops(generator, discriminator, batch_size)


def ganpipe_trainer(images, cfg, *, steps):
    """ganpipe's GAN exactly as the train stage builds it from ``cfg`` (fit): steps/s after compilation."""
    from ganpipe.data.kinds import PICTURES
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    generator, discriminator = build_networks(cfg, images.shape[1:], seed=0)
    # uint8 images of either kind scale alike to [-1, 1]
    gan = build_gan(cfg, generator, discriminator, ArraySampler(images, PICTURES.to_network))

    def run(count):
        gan.fit(gan.steps(gan.steps_done + count), epochs=1, verbose=0, shuffle=False)

    run(2 * cfg.steps_per_execution)  # compile
    started = time.perf_counter()
    run(steps)
    return steps / (time.perf_counter() - started)


def compare(name, images, cfg, *, baseline_steps, ganpipe_steps, gflops_machine, bf16=False, variants=True):
    """Print the seed recipe and ganpipe's trainer side by side for one experiment's settings; return
    (seed recipe's steps/s, ganpipe's with ``cfg``'s settings).

    With ``variants``, also one step per execution and XLA flipped; with ``bf16``, also ganpipe with
    ``precision: mixed_bfloat16``, with and without XLA.
    """
    base, learned, flops = seed_recipe(images, cfg, steps=baseline_steps, warmup=3)
    print(f"[{name}] {cfg.arch}, batch {cfg.batch_size}: {flops / 1e9:.3f} GFLOP per step", flush=True)

    def line(label, rate):
        achieved = flops * rate / 1e9
        print(f"  {label:<48} {rate:8.2f} steps/s {1000 / rate:9.1f} ms/step {achieved:7.1f} GFLOP/s"
              f" ({100 * achieved / gflops_machine:3.0f}% of matmul) x{rate / base:5.2f}", flush=True)

    line(f"seed recipe (predict + 3x train_on_batch){'' if learned else ' [did not learn!]'}", base)
    rows = [cfg]
    if variants:
        rows += [dataclasses.replace(cfg, steps_per_execution=1)] if cfg.steps_per_execution > 1 else []
        rows += [dataclasses.replace(cfg, xla=not cfg.xla)]
    if bf16:
        rows += [dataclasses.replace(cfg, precision="mixed_bfloat16", xla=xla) for xla in (cfg.xla, not cfg.xla)
                 if cfg.precision != "mixed_bfloat16" or xla != cfg.xla]
    rates = []
    for variant in rows:
        rates.append(ganpipe_trainer(images, variant, steps=ganpipe_steps))
        bf16_mark = ", bf16" if variant.precision == "mixed_bfloat16" else ""
        line(f"ganpipe, steps_per_execution={variant.steps_per_execution}, xla={variant.xla}{bf16_mark}"
             + (" (settings)" if variant is cfg else ""), rates[-1])
    return base, rates[0]


def data_io():
    """Time prepare_mnist on the full Fashion-MNIST IDX files and reading the .bin files back."""
    from ganpipe.config import PrepareMnistConfig
    from ganpipe.data.binfmt import read_split
    from ganpipe.stages.prepare_mnist import prepare

    if not FASHION.is_dir():
        print(f"data: {FASHION} not installed (apt-get install dataset-fashion-mnist); skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        manifest = prepare(PrepareMnistConfig(source=str(FASHION), test_fraction=0.2, seed=0), Path(tmp) / "f")
        prep_s = time.perf_counter() - started
        n = sum(manifest["counts"].values())
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            read_split(Path(tmp) / "f", "Train"), read_split(Path(tmp) / "f", "Test")
            timings.append(time.perf_counter() - started)
    print(f"data: prepare_mnist on {n:,} Fashion-MNIST images (gzipped IDX -> .bin + manifest): {prep_s:.2f} s")
    print(f"data: read all four .bin files ({n:,} images): best of 5 {1000 * min(timings):.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("mnist", "anime", "data"), default=None, help="run one part only")
    parser.add_argument("--variants", choices=("settings", "default", "all"), default="default",
                        help="settings: the section's settings only; default: also one step per execution and "
                             "XLA flipped; all: also bf16, and the DCGAN at batch 64")
    parser.add_argument("--dense-steps", type=int, default=2000, help="ganpipe steps timed for the dense GAN")
    parser.add_argument("--baseline-steps", type=int, default=300, help="seed-recipe steps timed for the dense GAN")
    parser.add_argument("--dcgan-steps", type=int, default=8, help="steps timed for the DCGAN")
    args = parser.parse_args(argv)

    import ganpipe  # noqa: F401  (first: it quietens TensorFlow's native start-up lines)
    import tensorflow as tf

    from flops import matmul_gflops
    from inputs import mnist_folder
    from machine import cpu_line
    from ganpipe.config import TrainConfig, load_section
    from ganpipe.data.binfmt import read_split
    from ganpipe.training import hardware

    every = args.variants == "all"
    rate = matmul_gflops()
    print(f"TensorFlow {tf.__version__}; this machine's fp32 matmul (2048^3): {rate:.0f} GFLOP/s")
    print(f"CPU: {cpu_line()}", flush=True)
    ratios = {}
    if args.only in (None, "mnist"):
        cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
        cfg, chosen = hardware.resolve(cfg)
        if chosen:
            print(f"train.mnist: {chosen}")
        ratios["dense GAN (train.mnist)"] = compare(
            "mnist", read_split(mnist_folder(), "Train").images, cfg, baseline_steps=args.baseline_steps,
            ganpipe_steps=args.dense_steps, gflops_machine=rate, bf16=every, variants=args.variants != "settings")
    if args.only in (None, "anime"):
        cfg = load_section(REPO / "params.yaml", "train.anime", TrainConfig)
        cfg, chosen = hardware.resolve(cfg)
        if chosen:
            print(f"train.anime: {chosen}")
        faces = np.random.default_rng(0).integers(0, 256, (1024, 64, 64, 3), dtype=np.uint8)  # speed only
        for batch in sorted({cfg.batch_size, 64} if every else {cfg.batch_size}):
            result = compare(f"anime, batch {batch}", faces, dataclasses.replace(cfg, batch_size=batch),
                             baseline_steps=args.dcgan_steps, ganpipe_steps=args.dcgan_steps, gflops_machine=rate,
                             bf16=every and batch == 64, variants=args.variants != "settings")
            if batch == cfg.batch_size:
                ratios["DCGAN (train.anime)"] = result
    if args.only in (None, "data"):
        data_io()
    if ratios:
        print("ganpipe's trainer with each section's settings against the seed recipe, same network and batch:")
        for name, (base, ours) in ratios.items():
            print(f"  {name:<26} {ours:8.2f} vs {base:8.2f} steps/s  x{ours / base:5.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of this process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
