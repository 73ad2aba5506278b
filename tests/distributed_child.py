"""A child process for tests/test_distribute.py: split the CPU into logical devices, then run the train stage.

    python tests/distributed_child.py CPUS [--resume-check FOLDER] -- <train stage arguments>

Logical devices can only be configured before TensorFlow initialises, hence a process of its own.
With ``--resume-check``, after the stage the process also checks a checkpoint round trip of a GAN
under the same strategy and prints one JSON line starting with ``resume-check:``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # conftest's helpers


def split_cpu(count: int) -> None:
    import tensorflow as tf

    if count > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def resume_check(params: str, data: str, folder: str) -> dict:
    """Train 2 steps, checkpoint, train 2, restore, train the same 2 again: do both continuations agree?"""
    import numpy as np

    from ganpipe.config import TrainConfig, load_section
    from ganpipe.data.kinds import load_training_data
    from ganpipe.training import checkpoint, distribute
    from ganpipe.training.gan import ArraySampler, build_gan
    from ganpipe.training.networks import build_networks

    from conftest import train_steps

    cfg = load_section(params, "train.mnist", TrainConfig)
    strategy = distribute.make_strategy(cfg.strategy)
    kind, images = load_training_data(data)
    generator, discriminator = build_networks(cfg, images.shape[1:], seed=cfg.seed, strategy=strategy)
    with distribute.scope(strategy):
        gan = build_gan(cfg, generator, discriminator, ArraySampler(images, kind.to_network), jit_compile=False)
    train_steps(gan, 2)
    saved = [np.array(v) for v in gan.state_variables()]
    checkpoint.save(folder, steps_done=2, variables=gan.state_variables(), records={}, fingerprint="check")
    first = train_steps(gan, 2)
    checkpoint.load_latest(folder, variables=gan.state_variables(), fingerprint="check")
    # every replica's copy of every variable holds the checkpoint's value again
    copies_restored = all(np.array_equal(np.asarray(copy), value)
                          for var, value in zip(gan.state_variables(), saved)
                          for copy in getattr(var.value, "values", (var.value,)))
    again = train_steps(gan, 2)
    return {"replicas": gan.replicas, "copies_restored": copies_restored,
            "max_loss_difference": float(np.abs(first - again).max())}


def main(argv: list[str]) -> int:
    if "--" not in argv:
        raise SystemExit(__doc__)
    split = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("cpus", type=int)
    p.add_argument("--resume-check", default=None)
    args, stage_args = p.parse_args(argv[:split]), argv[split + 1:]
    split_cpu(args.cpus)
    from ganpipe.stages.train import main as train_stage

    code = train_stage(stage_args)
    if code == 0 and args.resume_check:
        params = stage_args[stage_args.index("--params") + 1]
        data = stage_args[stage_args.index("--data") + 1]
        print("resume-check: " + json.dumps(resume_check(params, data, args.resume_check)), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
