"""Every script in benchmarks/ runs from a fresh clone's state with its smallest settings and prints its figures."""

import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

BENCH = REPO / "benchmarks"
FACES_READY = (REPO / "data" / "anime").is_dir() and (REPO / "models" / "anime_features").is_dir()

# script -> (smallest arguments, lines its output must have: regular expressions)
SMALLEST = {
    "bench_train.py": (["--variants", "settings", "--dense-steps", "25", "--baseline-steps", "3", "--dcgan-steps", "1"],
                       [r"^\[mnist\] dense, batch 32: [\d.]+ GFLOP per step$",
                        r"^  seed recipe \(predict \+ 3x train_on_batch\) +[\d.]+ steps/s",
                        r"^ganpipe's trainer with each section's settings against the seed recipe",
                        r"^  dense GAN \(train.mnist\) +[\d.]+ vs +[\d.]+ steps/s +x *[\d.]+$",
                        r"^  DCGAN \(train.anime\) +[\d.]+ vs +[\d.]+ steps/s +x *[\d.]+$",
                        r"^train.anime: auto: precision \w+, xla (true|false) by the rules"]),
    "bench_fused.py": (["--repeats", "1", "--steps", "10"],
                       [r"^keras: median +[\d.]+ steps/s", r"^fused: median +[\d.]+ steps/s",
                        r"^fused / keras \(medians\): [\d.]+; generator weights equal after \d+ steps each: True$"]),
    "bench_compare.py": (["--only", "mnist", "--repeats", "1", "--dense-steps", "10"],
                         [r"^CPU: ", r"^\[mnist\] before steps per call", r"^\[mnist\] after / before: [\d.]+$"]),
    "bench_stages.py": (["--stages", "prepare_gauss1d", "--repeats", "1"],
                        [r"^prepare_gauss1d +before +[\d.]+ s .* after +[\d.]+ s .* after/before [\d.]+$", r"^CPU: "]),
    "bench_metrics.py": (["--repeats", "1"], [r"^nearest 5000x784 vs 4000x784"]),
    "quality_curve.py": (["--seeds", "0", "--steps", "20", "--every", "10", "--samples", "50"],
                         [r"^seed 0 step +20 live: FID", r"^seed 0: 20 steps in", r"^median over seeds"]),
    "anime_variants.py": (["--steps", "2", "--every", "2", "--budget", "5"],
                          [r"^settings +seed 0: \d+ steps in", r"^variant +s/step"]),
    "digit_panel.py": (["--run", "tiny:epochs=20", "--at", "10", "--samples", "50", "--out", "panel"],
                       [r"^tiny: kept step 10$", r"^tiny: kept step 20$", r"^tiny: 20 steps in"]),
    "validate_digits.py": (["--epochs", "1", "--panel", "no/such/panel", "--out", "v.json"],
                           [r"^judge twin B: seed 2, 2000 digits", r"^\| noise \| 0.4 \|", r"^\| 5 \| "]),
}
# scripts with no smallest run, and why
NOT_RUN = {"validate_faces.py": "trains 100-step face generators and two scorers: ~25 minutes even at its smallest"}


def test_every_script_has_a_smallest_run_or_a_reason():
    scripts = {p.name for p in BENCH.glob("*.py") if '__name__ == "__main__"' in p.read_text()}
    assert scripts == set(SMALLEST) | set(NOT_RUN), scripts ^ (set(SMALLEST) | set(NOT_RUN))


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_every_script_compiles(script):
    """A syntax error in a benchmark (a bracket closed inside a comment) fails here, not only in make test-slow."""
    compile((BENCH / script).read_text(), script, "exec")


# each of these takes 1.5-3.5 minutes at its smallest on 2 shared cores (TensorFlow's start-up and compiles)
QUICK = {"bench_stages.py"}


@pytest.mark.parametrize("script", [s if s in QUICK else pytest.param(s, marks=pytest.mark.slow) for s in sorted(SMALLEST)])
def test_benchmark_runs_and_prints_its_figures(script, tmp_path):
    if script == "anime_variants.py" and not FACES_READY:
        pytest.skip("anime_variants needs data/anime and models/anime_features (dvc repro face_features@anime)")
    args, expected = SMALLEST[script]
    env = {**os.environ, "GANPIPE_AUTO": "rules", "GANPIPE_AUTO_CACHE": str(tmp_path / "auto.json"),
           "TQDM_DISABLE": "1", "GANPIPE_THREADS": os.environ.get("GANPIPE_THREADS", "1")}
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    for pattern in expected:
        assert re.search(pattern, proc.stdout, re.MULTILINE), f"{script}: no line matching {pattern!r} in\n{proc.stdout}"


def test_anime_variants_says_what_it_needs_without_face_data(tmp_path):
    proc = subprocess.run([sys.executable, str(BENCH / "anime_variants.py"), "--data", "no/such/faces"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and re.search(r"^anime_variants: skipped: needs no/such/faces", proc.stdout, re.M), \
        proc.stdout + proc.stderr
