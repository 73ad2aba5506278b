"""``auto`` for the speed knobs whose best value depends on the machine: ``xla`` and ``precision``.

Which of float32 / mixed_bfloat16 and XLA on / off trains a network fastest differs between CPUs
and between architectures (XLA made the original DCGAN 1.62x faster on an AVX2 CPU and 0.73x as
fast on an AVX-512 one; today's resize DCGAN over 10x slower on Zen 4), so ``auto`` is settled by
measurement, once per machine:

1. The candidates: every value of each ``auto`` knob (xla: off, on; precision: float32, and
   mixed_bfloat16 only where the hardware computes bfloat16 natively: emulated it is slower),
   less XLA for resize convolutions on a CPU, which lost by over 10x on every CPU probed (AVX2
   and AVX-512 alike) and costs a probe half a minute to give up. Where one candidate is left it
   is taken without a probe.
2. A cache file (``~/.cache/ganpipe/auto.json``; ``GANPIPE_AUTO_CACHE`` names another) keyed by
   what decides the speed: the CPU's model and vector units, the thread count, the GPUs,
   TensorFlow's and Keras' versions, and the network and its step (arch, model options, batch,
   steps per execution, EMA, augmentation). A key found there is reused: the same machine makes
   the same choice, and the run stays reproducible.
3. Otherwise a probe: a child process builds the network once per candidate, runs one execution
   (tracing and compiling) and then times two more on random data of the training shape; its
   measurements are written to the cache. The candidates without XLA go first; one that runs longer
   than twice the fastest finished one (at least 5 s) is given up (the child is killed, a new one
   times the rest): it is slower for a run of any length. Each candidate's cost for the run is its
   compile time plus ``epochs`` steps; the cheapest wins, but the rules' pick (below) is kept
   unless another is at least :data:`MARGIN` cheaper (the probe's noise). :data:`PROBE_TIMEOUT_S`
   bounds the whole probe.
4. The rules, without a probe: for a run of fewer than :data:`PROBE_MIN_STEPS` steps (a probe would
   cost more than it could save), under a multi-device strategy (every worker must choose the
   same), with ``GANPIPE_AUTO=rules``, where one candidate is left (they pick it), or when the
   probe failed:

   - ``precision``: ``mixed_bfloat16`` for convolutional networks where the hardware computes
     bfloat16 natively (AVX512_BF16 or AMX, a GPU of compute capability 8.0 or more; measured: the
     batch-64 DCGAN step 1.59x faster than float32 on an AVX512_BF16 CPU), else ``float32``
     (dense networks this small gain nothing: 112 against 142 steps/s there);
   - ``xla``: on for dense networks (1.4x faster on both CPUs measured) and on GPUs; for
     convolutional networks on a CPU, off with resize upsampling (over 10x slower with XLA on Zen 4,
     and 12x on an AVX2 EPYC by this probe), and for transposed convolutions on only without
     AVX-512 (the original DCGAN: 1.62x on AVX2, 0.73x on AVX-512).

:func:`resolve` returns the concrete config and one line saying what was chosen and why (with the
measurements): the train stage prints it and records it with the run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..models import CONVOLUTIONAL_ARCHS

AUTO_ENV = "GANPIPE_AUTO"               # probe (default) | rules
CACHE_ENV = "GANPIPE_AUTO_CACHE"        # the cache file (default ~/.cache/ganpipe/auto.json)
PROBE_MIN_STEPS = 500                   # shorter runs take the rules
PROBE_TIMEOUT_S = 120.0                 # the whole probe (all candidates), child start-up included
MARGIN = 0.05                           # another candidate must be this much cheaper than the rules' pick
CACHE_VERSION = 1
# the flags that change which kernels TensorFlow runs (the cache key), and the probe's sizes
_SPEED_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "avx_vnni")
_PROBE_IMAGES = 256
_PROBE_EXECUTIONS = 2                   # timed executions after the compiling one
_PROBE_GIVE_UP = 2.0                    # give a candidate up after this many times the fastest one's wall time
_PROBE_MIN_BUDGET_S = 5.0               # ... but never before this many seconds


@dataclass(frozen=True)
class Candidate:
    precision: str
    xla: bool

    @property
    def label(self) -> str:
        return f"{self.precision}/xla {'on' if self.xla else 'off'}"


@dataclass(frozen=True)
class Measurement:
    """One candidate's probe: seconds of the compiling execution beyond its steps, and seconds a step."""

    compile_s: float
    step_s: float

    def cost(self, steps: int) -> float:
        return self.compile_s + steps * self.step_s


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


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (and family/model numbers) from /proc/cpuinfo; the platform's name elsewhere."""
    info = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" not in info:
        return platform.processor() or platform.machine()
    return f"{info['model name']} (family {info.get('cpu family', '?')}, model {info.get('model', '?')})"


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
    """(precision, why) for ``precision: auto`` by the rules."""
    if arch not in CONVOLUTIONAL_ARCHS:
        return "float32", f"{arch} is dense: bfloat16 does not pay"
    if gpu:
        return ("mixed_bfloat16", "the GPU computes bfloat16") if gpu_bf16 else ("float32", "the GPU has no bfloat16 units")
    if cpu_has_bf16(flags):
        return "mixed_bfloat16", "the CPU has AVX512_BF16/AMX"
    return "float32", "the CPU has no bfloat16 units"


def xla_never_pays(arch: str, model, *, gpu: bool) -> bool:
    """XLA for a network it made over 10x slower on every CPU probed: resize convolutions on a CPU. The
    rules say off for it, and a probe does not offer it."""
    return not gpu and arch in CONVOLUTIONAL_ARCHS and (model or {}).get("upsample") == "resize"


def pick_xla(arch: str, *, gpu: bool, flags, model=None) -> tuple[bool, str]:
    """(xla, why) for ``xla: auto`` by the rules."""
    if arch not in CONVOLUTIONAL_ARCHS:
        return True, f"{arch} is dense"
    if gpu:
        return True, "on a GPU"
    if xla_never_pays(arch, model, gpu=gpu):
        return False, "resize convolutions on a CPU run over 10x slower with XLA (AVX2 and AVX-512 alike)"
    if "avx512f" in flags:
        return False, "convolutions on an AVX-512 CPU run faster without XLA"
    return True, "transposed convolutions on a CPU without AVX-512 run faster with XLA"


def candidates(cfg, *, gpu: bool, gpu_bf16: bool, flags) -> list[Candidate]:
    """Every (precision, xla) a probe should time for ``cfg``, without XLA first (cheap to compile: the
    yardstick the others are given up against), float32 before mixed_bfloat16.

    A fixed knob has its one value; ``precision: auto`` offers mixed_bfloat16 only where the hardware
    has bfloat16 units (the GPU's, or the CPU's AVX512_BF16/AMX); ``xla: auto`` offers XLA unless
    :func:`xla_never_pays`."""
    if cfg.precision != "auto":
        precisions = [cfg.precision]
    else:
        precisions = ["float32"] + (["mixed_bfloat16"] if (gpu_bf16 if gpu else cpu_has_bf16(flags)) else [])
    if cfg.xla != "auto":
        xlas = [cfg.xla]
    else:
        xlas = [False] if xla_never_pays(cfg.arch, cfg.model, gpu=gpu) else [False, True]
    return [Candidate(p, x) for x in xlas for p in precisions]


def rules_pick(cfg, *, gpu: bool, gpu_bf16: bool, flags) -> tuple[Candidate, list[str]]:
    """The rules' choice for the ``auto`` knobs of ``cfg`` (the others as set), and the reason for each auto one."""
    precision, xla, whys = cfg.precision, cfg.xla, []
    if cfg.precision == "auto":
        precision, why = pick_precision(cfg.arch, gpu=gpu, gpu_bf16=gpu_bf16, flags=flags)
        whys.append(why)
    if cfg.xla == "auto":
        xla, why = pick_xla(cfg.arch, gpu=gpu, flags=flags, model=cfg.model)
        whys.append(why)
    return Candidate(precision, xla), whys


def choose(measured: dict, steps: int, rule: Candidate) -> Candidate | None:
    """The candidate of ``measured`` ({Candidate: Measurement or None}) cheapest for a run of ``steps``
    steps; ``rule`` unless another is at least :data:`MARGIN` cheaper; None if none was measured."""
    timed = {c: m for c, m in measured.items() if m is not None}
    if not timed:
        return None
    best = min(timed, key=lambda c: timed[c].cost(steps))
    if rule in timed and timed[best].cost(steps) > (1 - MARGIN) * timed[rule].cost(steps):
        return rule
    return best


def default_image_shape(arch: str) -> tuple[int, ...]:
    """The example shape a probe trains ``arch`` on: 64x64 RGB faces, 28x28 digits, 1-D values."""
    if arch == "dcgan64":
        return (64, 64, 3)
    if arch == "gauss1d":
        return (1,)
    return (28, 28, 1)


def cache_path(environ=os.environ) -> Path:
    if environ.get(CACHE_ENV):
        return Path(environ[CACHE_ENV]).expanduser()
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ganpipe" / "auto.json"


def machine_key(cfg, image_shape, *, gpu_names=(), flags=None, environ=os.environ) -> dict:
    """What decides which candidate is fastest: the machine, the libraries, the network and its step."""
    import keras
    import tensorflow as tf

    from .. import threads_setting

    flags = cpu_flags() if flags is None else flags
    return {"cpu": cpu_model(), "flags": sorted(f for f in _SPEED_FLAGS if f in flags), "cpus": os.cpu_count(),
            "threads": threads_setting(environ), "gpus": sorted(gpu_names), "tensorflow": tf.__version__,
            "keras": keras.__version__, "arch": cfg.arch, "model": dict(cfg.model), "latent_dim": cfg.latent_dim,
            "image_shape": list(image_shape), "batch_size": cfg.batch_size,
            "steps_per_execution": cfg.steps_per_execution, "d_steps": cfg.d_steps, "g_steps": cfg.g_steps,
            "optimizer": cfg.optimizer, "ema": cfg.ema_half_life > 0, "augment": sorted(cfg.augment),
            "precision": cfg.precision, "xla": cfg.xla}


def key_id(key: dict) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def read_cache(path: Path) -> dict:
    """The cache's entries ({key id: entry}); {} for a missing, unreadable or older-format file."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(raw, dict) or raw.get("version") != CACHE_VERSION or not isinstance(raw.get("entries"), dict):
        return {}
    return raw["entries"]


def write_cache_entry(path: Path, ident: str, entry: dict) -> None:
    """Add ``entry`` under ``ident`` to the cache file (re-read first: other runs may have added theirs);
    an unwritable cache only costs a probe next time."""
    from ..fileio import write_json_atomic

    entries = read_cache(path)
    entries[ident] = entry
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, {"version": CACHE_VERSION, "entries": entries})
    except OSError as exc:
        print(f"ganpipe: warning: {path}: cannot write the auto cache ({exc.strerror or exc})", file=sys.stderr)


def measurements_from(entry: dict) -> dict:
    """{Candidate: Measurement or None} from a cache entry's "measured" list."""
    out = {}
    for row in entry.get("measured", []):
        cand = Candidate(row["precision"], bool(row["xla"]))
        out[cand] = Measurement(row["compile_s"], row["step_s"]) if row.get("step_s") is not None else None
    return out


def measurements_to(measured: dict) -> list:
    return [{"precision": c.precision, "xla": c.xla,
             **({"compile_s": round(m.compile_s, 4), "step_s": round(m.step_s, 6)} if m else {"step_s": None})}
            for c, m in measured.items()]


def probe(cfg, image_shape, cands, *, timeout: float = PROBE_TIMEOUT_S) -> dict:
    """Time each candidate of ``cands`` in a child process: {Candidate: Measurement, or None for one given up}.

    The child keeps this process's TensorFlow state untouched and reports each candidate as it starts
    and ends. A candidate still running after :data:`_PROBE_GIVE_UP` times the wall time of the
    fastest one finished (at least :data:`_PROBE_MIN_BUDGET_S`) is slower than it for any run: the
    child is killed, the candidate counted as given up, and a new child times the rest. Candidates
    not reached within ``timeout`` seconds in all count as given up too.
    """
    import queue
    import threading

    measured, pending = {}, list(cands)
    deadline, fastest = time.monotonic() + timeout, None
    while pending and time.monotonic() < deadline:
        request = {"cfg": dataclasses.asdict(cfg), "image_shape": list(image_shape),
                   "candidates": [dataclasses.asdict(c) for c in pending]}
        proc = subprocess.Popen([sys.executable, "-m", "ganpipe.training.hardware", "--probe", json.dumps(request)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout] + [lines.put(None)],
                         daemon=True).start()
        current, started = None, None
        while True:
            limit = deadline
            if current is not None and fastest is not None:
                limit = min(limit, started + max(_PROBE_MIN_BUDGET_S, _PROBE_GIVE_UP * fastest))
            try:
                line = lines.get(timeout=max(limit - time.monotonic(), 0.0))
            except queue.Empty:  # over budget: slower than the fastest for any run length
                proc.kill()
                if current is not None:
                    measured[current] = None
                    pending.remove(current)
                break
            if line is None:  # the child ended: what it did not report failed
                for cand in pending:
                    measured[cand] = None
                pending = []
                break
            word, _, payload = line.strip().partition(" ")
            if word == "START":
                current, started = Candidate(**json.loads(payload)), time.monotonic()
            elif word == "PROBE":
                row = json.loads(payload)
                measured[current] = Measurement(row["compile_s"], row["step_s"])
                pending.remove(current)
                wall = time.monotonic() - started
                fastest = wall if fastest is None else min(fastest, wall)
                current = None
        proc.wait()
    for cand in pending:
        measured[cand] = None
    return {c: measured.get(c) for c in cands}


def _probe_child(request: dict) -> None:
    """In the child: time each candidate, printing "START {candidate}" and then "PROBE {measurements}"."""
    import keras
    import numpy as np

    from ..config import TrainConfig
    from ..data.kinds import VALUES
    from .gan import ArraySampler, build_gan
    from .networks import build_networks

    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    base = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in request["cfg"].items() if k in fields})
    shape = tuple(request["image_shape"])
    rng = np.random.default_rng(0)
    data = (rng.integers(0, 256, (_PROBE_IMAGES, *shape), dtype=np.uint8) if len(shape) == 3
            else rng.standard_normal((_PROBE_IMAGES, *shape)).astype(np.float32))

    class Clock(keras.callbacks.Callback):
        """The time at the start and at the end of each execution (one fit "batch")."""

        def on_train_begin(self, logs=None):
            self.marks = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append(time.perf_counter())

    for row in request["candidates"]:
        print("START " + json.dumps(row), flush=True)
        cfg = dataclasses.replace(base, precision=row["precision"], xla=row["xla"])
        generator, discriminator = build_networks(cfg, shape, seed=0)
        gan = build_gan(cfg, generator, discriminator, ArraySampler(data, VALUES.to_network))  # speed only: a cast
        spe, clock = cfg.steps_per_execution, Clock()
        gan.fit(gan.steps((1 + _PROBE_EXECUTIONS) * spe), epochs=1, verbose=0, shuffle=False, callbacks=[clock])
        first, timed = clock.marks[1] - clock.marks[0], [b - a for a, b in zip(clock.marks[1:], clock.marks[2:])]
        step_s = min(timed) / spe
        print("PROBE " + json.dumps({"compile_s": max(first - spe * step_s, 0.0), "step_s": step_s}), flush=True)
        keras.backend.clear_session()


def resolve(cfg, *, image_shape=None, environ=os.environ, measure=probe, now=time.time):
    """``cfg`` (a TrainConfig) with ``xla`` and ``precision`` made concrete, and a line saying what auto chose
    and why (None when nothing was auto). ``measure`` is the probe (tests give a fake one)."""
    if cfg.precision != "auto" and cfg.xla != "auto":
        return cfg, None
    gpu_list = gpus()
    gpu, flags = bool(gpu_list), cpu_flags()
    gpu_bf16 = gpu and gpu_has_bf16()
    rule, rule_whys = rules_pick(cfg, gpu=gpu, gpu_bf16=gpu_bf16, flags=flags)
    mode = environ.get(AUTO_ENV, "probe").strip().lower() or "probe"
    if mode not in ("probe", "rules"):
        from ..errors import ConfigError

        raise ConfigError(f"{AUTO_ENV}={environ[AUTO_ENV]!r}: expected probe or rules")
    reason = None
    if mode == "rules":
        reason = f"{AUTO_ENV}=rules"
    elif cfg.strategy in ("mirrored", "multi_worker") or (cfg.strategy == "auto" and len(gpu_list) > 1):
        reason = "several devices: every worker takes the rules"
    offered = candidates(cfg, gpu=gpu, gpu_bf16=gpu_bf16, flags=flags)
    if reason is None and len(offered) == 1:
        reason = f"{offered[0].label} is the only candidate, nothing to measure"
    choice, how = None, None
    if reason is None:
        shape = tuple(image_shape) if image_shape is not None else default_image_shape(cfg.arch)
        key = machine_key(cfg, shape, gpu_names=[g.name for g in gpu_list], flags=flags, environ=environ)
        ident, path = key_id(key), cache_path(environ)
        entry = read_cache(path).get(ident)
        if entry is not None:
            measured, how = measurements_from(entry), f"a probe on this machine ({entry.get('probed', '?')}, cached in {path})"
        elif cfg.epochs < PROBE_MIN_STEPS:
            reason = f"{cfg.epochs} steps are too few to pay for a probe"
        else:
            started = time.perf_counter()
            measured = measure(cfg, shape, offered)
            probe_s = time.perf_counter() - started
            if any(m is not None for m in measured.values()):
                entry = {"key": key, "measured": measurements_to(measured), "probe_s": round(probe_s, 1),
                         "probed": time.strftime("%Y-%m-%d %H:%M", time.localtime(now()))}
                write_cache_entry(path, ident, entry)
                how = f"a probe on this machine ({probe_s:.0f} s, cached in {path})"
            else:
                reason = "the probe measured nothing"
        if reason is None:
            choice = choose(measured, cfg.epochs, rule)
            if choice is None:
                reason = "the cached probe measured nothing"
            else:
                timings = ", ".join(f"{c.label} {1000 * m.step_s:.1f} ms/step + {m.compile_s:.1f} s compiling"
                                    if m else f"{c.label} given up (too slow)" for c, m in measured.items())
                how = f"{how}: {timings}"
    if choice is None:
        choice, how = rule, f"the rules ({reason}): " + "; ".join(rule_whys)
    changes, chosen = {}, []
    if cfg.precision == "auto":
        changes["precision"] = choice.precision
        chosen.append(f"precision {choice.precision}")
    if cfg.xla == "auto":
        changes["xla"] = choice.xla
        chosen.append(f"xla {str(choice.xla).lower()}")
    return dataclasses.replace(cfg, **changes), f"auto: {', '.join(chosen)} by {how}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--probe":
        _probe_child(json.loads(argv[1]))
        return 0
    print("usage: python -m ganpipe.training.hardware --probe JSON (run by ganpipe itself)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
