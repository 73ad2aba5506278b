"""``auto`` for the speed knobs whose best value depends on the machine: ``xla`` and ``precision``.

Picked from what the machine has (no timed trial: a trial of the 64x64 DCGAN would cost more than
it saves on a short run), by rules measured on the two CPUs this project runs on:

- ``precision: auto`` is ``mixed_bfloat16`` for convolutional networks where the hardware computes
  bfloat16 natively (a CPU with AVX512_BF16 or AMX, or a GPU of compute capability 8.0 or more;
  measured: the batch-64 DCGAN step 1.59x faster than float32 on an AVX512_BF16 CPU), else
  ``float32`` (dense networks this small gain nothing: 112 against 142 steps/s there).
- ``xla: auto`` is on for dense networks (1.4x faster on both CPUs) and on GPUs; for convolutional
  networks on a CPU, on only without AVX-512 (measured: XLA made the DCGAN 1.62x faster on an AVX2
  CPU, and 0.73x as fast on an AVX-512 one).
"""

from __future__ import annotations

import dataclasses
import functools

CONVOLUTIONAL = frozenset({"dcgan64", "dcgan28"})


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def gpu_has_bf16() -> bool:
    import tensorflow as tf

    for gpu in gpus():
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
        if tuple(capability) >= (8, 0):
            return True
    return False


def cpu_has_bf16(flags=None) -> bool:
    flags = cpu_flags() if flags is None else flags
    return bool({"avx512_bf16", "amx_bf16"} & set(flags))


def pick_precision(arch: str, *, gpu: bool, gpu_bf16: bool, flags) -> tuple[str, str]:
    """(precision, why) for ``precision: auto``."""
    if arch not in CONVOLUTIONAL:
        return "float32", f"{arch} is dense: bfloat16 does not pay"
    if gpu:
        return ("mixed_bfloat16", "the GPU computes bfloat16") if gpu_bf16 else ("float32", "the GPU has no bfloat16 units")
    if cpu_has_bf16(flags):
        return "mixed_bfloat16", "the CPU has AVX512_BF16/AMX"
    return "float32", "the CPU has no bfloat16 units"


def pick_xla(arch: str, *, gpu: bool, flags) -> tuple[bool, str]:
    """(xla, why) for ``xla: auto``."""
    if arch not in CONVOLUTIONAL:
        return True, f"{arch} is dense"
    if gpu:
        return True, "on a GPU"
    if "avx512f" in flags:
        return False, "convolutions on an AVX-512 CPU run faster without XLA"
    return True, "convolutions on a CPU without AVX-512 run faster with XLA"


def resolve(cfg):
    """``cfg`` (a TrainConfig) with ``xla`` and ``precision`` made concrete, and a line saying what auto chose
    (None when nothing was auto)."""
    notes, changes = [], {}
    if cfg.precision == "auto" or cfg.xla == "auto":
        gpu, flags = bool(gpus()), cpu_flags()
        if cfg.precision == "auto":
            changes["precision"], why = pick_precision(cfg.arch, gpu=gpu, gpu_bf16=gpu and gpu_has_bf16(), flags=flags)
            notes.append(f"precision {changes['precision']} ({why})")
        if cfg.xla == "auto":
            changes["xla"], why = pick_xla(cfg.arch, gpu=gpu, flags=flags)
            notes.append(f"xla {str(changes['xla']).lower()} ({why})")
    return dataclasses.replace(cfg, **changes), ("auto: " + ", ".join(notes)) if notes else None
