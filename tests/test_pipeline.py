"""The whole DVC pipeline, shrunk: dvc repro, a no-op rerun, an experiment, dvc exp show."""

import json
import re
import subprocess
import sys
import warnings

import pytest
import yaml

from .conftest import DVC, REPO, dvc_project, real_params, tiny_pipeline_params


def sh(args, cwd, env, timeout=600):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def exp_run_reaches(root, env, *changes) -> list[str]:
    """`dvc exp run -S` each change; return the stages it reached: those whose dvc.lock entry (deps, params,
    outs) changed. Each of them must have run (or come back from DVC's run cache). A stage DVC reran
    although its entry stayed the same (nothing it depends on changed) is not counted: the test warns
    with DVC's reason instead."""
    before = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    out = sh(DVC + ["exp", "run", "-v"] + [arg for change in changes for arg in ("-S", change)], root, env)
    after = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    reached = sorted(name for name in after if after[name] != before.get(name))
    ran = sorted(a or b for a, b in re.findall(r"^(?:Running stage '([^']+)'|Stage '([^']+)' is cached)", out, re.M))
    said = [line for line in out.splitlines() if "changed" in line or "Running stage" in line or "is cached" in line]
    assert set(reached) <= set(ran), "\n".join(said)
    if extra := sorted(set(ran) - set(reached)):  # DVC's debug lines say why: a rerun no change asked for, traced
        why = [line for line in said if "changed" in line and any(f"stage: '{s}'" in line for s in extra)]
        warnings.warn(f"dvc exp run {' '.join(changes)} also reran {extra}, recording nothing new: {why}", stacklevel=2)
    return reached


@pytest.fixture
def project(tmp_path):
    """A clone-like copy of the project with the real dvc.yaml and a params.yaml cut to a few steps."""
    root = tmp_path / "proj"
    params, real = tiny_pipeline_params(), real_params()
    for name in params["runs"]:  # the runs keep their scored snapshots (at the end of the 5 steps)
        params["train"][name]["eval_interval"] = real["train"][name]["eval_interval"]
    env = dvc_project(root, params)
    dvc = DVC
    return root, env, dvc


@pytest.mark.slow  # a whole DAG, clones or several processes: `make test-slow`, run by .ci/run
def test_repro_noop_forced_rerun_and_experiment(project):
    """The whole DAG at a tiny size: repro, a no-op repro, a byte-identical forced rerun, an experiment."""
    root, env, dvc = project
    out = sh(dvc + ["repro"], root, env)
    for stage in ("prepare_mnist", "make_anime_demo", "prepare_pictures@anime", "prepare_gauss1d", "judge", "evaluate@mnist",
                  "train@mnist", "train@anime", "train@gauss1d", "plots@mnist", "plots@anime", "plots@gauss1d",
                  "face_features@anime", "evaluate_faces@anime", "evaluate_gauss1d@gauss1d", "report"):
        assert f"Running stage '{stage}'" in out
    for path in ("data/mnist/imagesTrain.bin", "data/mnist/manifest.json", "models/mnist/generator.keras",
                 "models/mnist/generator_model_5.h5", "reports/mnist/plots/images/samples/3.png", "reports/mnist/plots/images/samples/5.png",
                 "reports/mnist/loss.png", "reports/mnist/final_samples.png", "reports/mnist/preview.png",
                 "reports/mnist/plots/metrics/g_loss.tsv", "reports/anime/quality.json",
                 "reports/gauss1d/quality.json", "reports/gauss1d/histogram.png", "reports/report.md", "dvc.lock"):
        assert (root / path).is_file(), path
    metrics = json.loads((root / "reports/mnist/metrics.json").read_text())
    assert metrics["step"] == 4 and "g_loss" in metrics

    again = sh(dvc + ["repro"], root, env)
    assert "Running stage" not in again, again
    assert "up to date" in sh(dvc + ["status"], root, env)

    # byte-identical reruns: forcing every stage again changes no hash in dvc.lock
    lock = (root / "dvc.lock").read_text()
    forced = sh(dvc + ["repro", "-f"], root, env)
    assert "Running stage 'train@anime'" in forced
    assert (root / "dvc.lock").read_text() == lock

    # dvc plots show renders the declared plots: losses, accuracy and the per-step sample grids
    sh(dvc + ["plots", "show", "-o", str(root / "plots_html")], root, env)
    html = (root / "plots_html" / "index.html").read_text()
    for needle in ("d_loss", "g_loss", "d_acc"):
        assert needle in html, needle
    assert len(list((root / "plots_html" / "static").glob("*samples*3.png"))) >= 1, \
        sorted(p.name for p in (root / "plots_html" / "static").iterdir())

    shown = sh(dvc + ["metrics", "show", "--json"], root, env)
    assert "g_loss" in shown and "steps_per_s" in shown and "ks_distance" in shown
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-qm", "baseline"], root, env)

    # a train.mnist change reaches exactly the digit run's training, evaluation and plots, and the report
    assert exp_run_reaches(root, env, "train.mnist.epochs=8") == ["evaluate@mnist", "plots@mnist", "report", "train@mnist"]
    table = json.loads(sh(dvc + ["exp", "show", "--json"], root, env))
    epochs_seen = set()
    for commit in table:
        for exp_entry in [commit] + [e for run in (commit.get("experiments") or []) for e in run.get("revs", [])]:
            data = (exp_entry.get("data") or {})
            params = data.get("params", {}).get("params.yaml", {}).get("data", {})
            if params:
                epochs_seen.add(params["train"]["mnist"]["epochs"])
                assert "g_loss" in json.dumps(data.get("metrics", {}))
                assert "domain_fid" in json.dumps(data.get("metrics", {}))
                assert "face_fid" in json.dumps(data.get("metrics", {}))
    assert {5, 8} <= epochs_seen, table

    # an experiment at another size, then `ganpipe report`: the workspace against the committed baseline
    sh(dvc + ["exp", "run", "-S", "train.mnist.epochs=6", "-S", "train.gauss1d.epochs=4"], root, env)
    sh([sys.executable, "-m", "ganpipe.cli", "report", "--base", "HEAD"], root, env)
    report = (root / "reports/report.md").read_text()
    assert "compared with those committed at **HEAD (" in report
    assert re.search(r"\| params.yaml \| train.mnist.epochs +\| 5 +\| 6 ", report), report
    for needle in ("domain_fid", "face_fid", "detected_share", "| metric | this run | real data | untrained generator |",
                   "![mnist: loss](mnist/loss.png)", "![anime: final samples](anime/final_samples.png)"):
        assert needle in report, needle
    for link in re.findall(r"\]\(([^)]+)\)", report):
        assert (root / "reports" / link).is_file(), link


@pytest.mark.slow  # a cut DAG, built once and rebuilt in part: about 2 minutes on 2 CPU cores
def test_a_judge_change_retrains_only_the_digit_run(tmp_path):
    """`dvc exp run -S judge.epochs=...` reruns the judge and what it scores, not the 1-D run beside it.

    The real dvc.yaml cut to the digit and 1-D stages (the face and report stages: test_dvc_deps.py
    shows from DVC's graph that the judge does not reach them).
    """
    root = tmp_path / "proj"
    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    keep = ("fingerprint", "prepare_mnist", "prepare_gauss1d", "judge", "train", "evaluate")
    pipeline["stages"] = {name: stage for name, stage in pipeline["stages"].items() if name in keep}
    pipeline.pop("metrics", None), pipeline.pop("artifacts", None)
    params = tiny_pipeline_params(xla=False)
    params["runs"] = {name: params["runs"][name] for name in ("mnist", "gauss1d")}
    env = dvc_project(root, params, pipeline, repro=True)

    assert exp_run_reaches(root, env, "judge.epochs=2") == ["evaluate@mnist", "judge", "train@mnist"]


WORKFLOW = REPO / ".github" / "workflows" / "report.yml"


def workflow_step(name: str) -> dict:
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["report"]
    return next(s for s in job["steps"] if s.get("name") == name)


def test_ci_workflow_is_a_valid_github_actions_file():
    """Structure GitHub requires, pinned actions, and CML posting the report that the steps build."""
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers and wf["permissions"]["pull-requests"] == "write"
    job = wf["jobs"]["report"]
    assert job["runs-on"] == "ubuntu-latest" and set(job["env"]) == {"SMALL_RUN", "REPORT_BASE"}
    for step in job["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+", step["uses"]), step["uses"]
    uses = [s["uses"].split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses == ["actions/checkout", "actions/setup-python", "iterative/setup-cml"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert "make install" in runs[0] and runs[1] == 'ganpipe compare "$REPORT_BASE" HEAD $SMALL_RUN'
    assert "cml comment update" in runs[2] and "reports/compare/report.md" in runs[2]
    assert job["steps"][0]["with"]["fetch-depth"] == 0
    assert job["steps"][-1]["if"] == "github.event_name == 'pull_request'"
