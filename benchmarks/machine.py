"""The line every benchmark prints about the CPU it ran on: model, family, CPUs and the vector units that
decide ganpipe's speed (AVX-512, AVX512_BF16/AMX, else AVX2), read from /proc/cpuinfo."""

from __future__ import annotations

import os


def cpu_line() -> str:
    from ganpipe.training.hardware import cpu_flags

    info = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = cpu_flags()
    units = [name for flag, name in (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512_BF16"), ("amx_bf16", "AMX"))
             if flag in flags] or (["AVX2, no AVX-512"] if "avx2" in flags else ["no AVX2"])
    return (f"{info.get('model name', '?')} (family {info.get('cpu family', '?')}, model {info.get('model', '?')}), "
            f"{os.cpu_count()} CPUs, {' '.join(units)}")
