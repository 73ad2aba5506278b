"""Stage wall times, before and after, side by side: this checkout against another one.

    python benchmarks/bench_stages.py [--before HEAD|<commit>|<folder>] [--repeats 3] [--stages train@mnist train@anime]

Each stage runs as its own command (``python -m ganpipe.stages.<stage> ...``), with each checkout's
``src`` on the import path and its own params.yaml, on this checkout's prepared inputs (data/,
models/judge, models/anime_features: ``dvc repro`` first), writing into a temporary folder. The two
checkouts alternate, ``--repeats`` times, so both see the same machine; this host's run-to-run noise
exceeds 20%, hence the repeats and medians. The seconds are the whole process, start-up included,
as ``dvc repro`` pays them. Ends with the CPU (model, AVX-512/BF16 or AVX2 only). ``--before`` is a
checkout's folder or a git revision exported into a temporary folder (default HEAD: the working tree
against its last commit). A stage whose inputs are not prepared yet is skipped with a line saying
which ``dvc repro`` target makes them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_line

REPO = Path(__file__).resolve().parents[1]
STAGES = ("make_anime_demo", "prepare_pictures@anime", "train@mnist", "train@anime", "train@gauss1d")
CHOICES = (*STAGES, "prepare_gauss1d")
# what each stage reads from this checkout, and the dvc.yaml stage that writes it
NEEDS = {"prepare_pictures@anime": {"data/raw/anime_demo": "make_anime_demo"},
         "train@mnist": {"data/mnist": "prepare_mnist", "models/judge": "judge"},
         "train@anime": {"data/anime": "prepare_pictures@anime", "models/anime_features": "face_features@anime"},
         "train@gauss1d": {"data/gauss1d": "prepare_gauss1d"}}
DATA = {"mnist": "data/mnist", "anime": "data/anime", "gauss1d": "data/gauss1d"}


def command(stage: str, checkout: Path, out: Path) -> list[str]:
    """The stage's command for ``checkout``, reading this checkout's inputs and writing under ``out``."""
    py = [sys.executable, "-m", f"ganpipe.stages.{stage.split('@')[0]}", "--params", str(checkout / "params.yaml")]
    if stage == "make_anime_demo":
        return py + ["--out", str(out / "demo")]
    if stage == "prepare_gauss1d":
        return py + ["--out", str(out / "gauss1d")]
    if stage == "prepare_pictures@anime":
        return py + ["anime", "--out", str(out / "anime"), "--preview", str(out / "preview.png"),
                     "--metrics", str(out / "faces.json")]
    run = stage.split("@")[1]
    cmd = py + [run, "--data", str(REPO / DATA[run]), "--models", str(out / "models"),
                "--reports", str(out / "reports"), "--checkpoints", str(out / "checkpoints")]
    if "--features" in (checkout / "src/ganpipe/stages/train.py").read_text():  # scored snapshots need the scorers
        cmd += ["--judge", str(REPO / "models/judge"), "--features", str(REPO / "models/anime_features")]
    return cmd


def run_once(stage: str, checkout: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout / "src"), TQDM_DISABLE="1")
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as tmp:
        started = time.perf_counter()
        proc = subprocess.run(command(stage, checkout, Path(tmp)), cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{stage} in {checkout} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--before", default="HEAD", help="the other checkout's folder, or a git revision (default HEAD)")
    p.add_argument("--stages", nargs="+", default=list(STAGES), choices=CHOICES)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from inputs import checkout

    checkouts = {"before": checkout(args.before), "after": REPO}
    for stage in args.stages:
        missing = {path: maker for path, maker in NEEDS.get(stage, {}).items() if not (REPO / path).exists()}
        if missing:
            print(f"{stage:16s} skipped: needs {', '.join(missing)} (dvc repro {' '.join(sorted(set(missing.values())))})")
            continue
        times = {side: [] for side in checkouts}
        for _ in range(args.repeats):
            for side, checkout in checkouts.items():
                times[side].append(run_once(stage, checkout))
                print(f"  {stage} {side}: {times[side][-1]:.1f} s", file=sys.stderr, flush=True)
        medians = {side: statistics.median(values) for side, values in times.items()}
        print(f"{stage:16s} before {medians['before']:6.1f} s ({', '.join(f'{t:.0f}' for t in times['before'])})  "
              f"after {medians['after']:6.1f} s ({', '.join(f'{t:.0f}' for t in times['after'])})  "
              f"after/before {medians['after'] / medians['before']:.2f}", flush=True)
    print(f"CPU: {cpu_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
