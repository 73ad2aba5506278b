"""The line every benchmark prints about the CPU it ran on: model, family, CPUs and the vector units that
decide ganpipe's speed (AVX-512, AVX512_BF16/AMX, else AVX2), read from /proc/cpuinfo."""

from __future__ import annotations

import os


def cpu_line() -> str:
    from ganpipe.training.hardware import cpu_flags, cpu_model

    flags = cpu_flags()
    units = [name for flag, name in (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512_BF16"), ("amx_bf16", "AMX"))
             if flag in flags] or (["AVX2, no AVX-512"] if "avx2" in flags else ["no AVX2"])
    return f"{cpu_model()}, {os.cpu_count()} CPUs, {' '.join(units)}"
