"""`ganpipe compare`, the workflow's "Compare with the base" step, on a tiny project: a commit that changes
nothing reports no metric and no param change; a commit that changes one param reports exactly that
param and the metrics of the run it trains."""
import re

import pytest
import yaml

from ganpipe import compare

from .conftest import REPO, dvc_project, one_run_pipeline, sh, shrunk_params

RUN = "mnist"


def workflow_step(name: str) -> str:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "report.yml").read_text())
    return next(step["run"] for step in workflow["jobs"]["report"]["steps"] if step.get("name") == name)


def section(report: str, title: str) -> str:
    return report.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0].strip()


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines()[2:] if line.startswith("|")]


@pytest.mark.slow  # two small rebuilds of a tiny pipeline: about a minute
def test_compare_step_reports_only_what_the_commit_changed(tmp_path):
    root = tmp_path / "proj"
    params = shrunk_params(RUN, xla=False)
    params["runs"] = {RUN: params["runs"][RUN]}
    pipeline = one_run_pipeline(RUN)
    pipeline["stages"]["plots"] = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["plots"]
    env = dvc_project(root, params, pipeline)  # the base is not built: CI's checkout has no outputs
    step = workflow_step("Compare with the base")
    step_env = dict(env, REPORT_BASE="main", SMALL_RUN=f"-S train.{RUN}.epochs=8 -S train.{RUN}.batch_size=8")

    sh(["git", "checkout", "-qb", "no-change"], root, env)
    (root / "README.md").write_text("words only\n")
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-qm", "words only"], root, env)
    out = sh(["bash", "-c", step], root, step_env)
    report = (root / "reports" / "compare" / "report.md").read_text()
    assert "rebuilding base" in out and "rebuilding head" in out, out
    for side in ("base", "head"):  # each side rebuilt whole (DVC run-caches no stage with uncached outputs)
        assert re.search(rf"compare: {side} ran fingerprint, prepare_mnist, train@{RUN}, plots@{RUN} in \d+ s; "
                         r"unchanged \(kept from the DVC cache\): none; from DVC's run cache: none", out), out
    assert re.search(r"\*\*HEAD \(\w{7}\)\*\* compared with \*\*main \(\w{7}\)\*\*, each run from its own commit",
                     report), report
    assert re.search(r"one after the other \(base: 4 stages run in \d+ s, 0 unchanged; head: 4 stages run in \d+ s, "
                     r"0 unchanged;", report), report
    assert f"-S train.{RUN}.epochs=8 -S train.{RUN}.batch_size=8" in report
    assert section(report, "Metrics that changed") == "No metric changed.", report
    assert section(report, "Params that changed") == "No parameter changed.", report
    assert (root / "reports" / "compare" / "head" / RUN / "loss.png").is_file()
    assert f"]({'head/' + RUN}/loss.png)" in report  # pictures link beside the report
    assert sh(["git", "status", "--porcelain", "--untracked-files=no"], root, env) == ""  # working tree untouched

    sh(["git", "checkout", "-qb", "one-change", "main"], root, env)
    params["train"][RUN]["d_lr"] = 2 * params["train"][RUN]["d_lr"]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh(["git", "commit", "-qam", "discriminator learns faster"], root, env)
    out = sh(["bash", "-c", step], root, step_env)
    report = (root / "reports" / "compare" / "report.md").read_text()
    assert f"compare: head ran fingerprint, prepare_mnist, train@{RUN}, plots@{RUN}" in out, out
    assert "| HEAD (" in report and "| main (" in report and "refs/ganpipe" not in report, report
    changed_params = table_rows(section(report, "Params that changed"))
    assert len(changed_params) == 1 and f"train.{RUN}.d_lr" in changed_params[0], report
    changed_metrics = table_rows(section(report, "Metrics that changed"))
    assert changed_metrics and all(f"reports/{RUN}/metrics.json" in row for row in changed_metrics), report
    assert any("d_loss" in row for row in changed_metrics), report


def test_an_unknown_revision_is_one_line_naming_it(tmp_path):
    import subprocess
    import sys

    from .conftest import project_env

    root = tmp_path / "repo"
    root.mkdir()
    env = project_env(root)
    sh(["git", "init", "-q", "-b", "main"], root, env)
    sh(["git", "commit", "-q", "--allow-empty", "-m", "empty"], root, env)
    proc = subprocess.run([sys.executable, "-m", "ganpipe.cli", "compare", "origin/nosuch"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["ganpipe: error: origin/nosuch: not a commit here"], proc.stderr


def test_stage_outcomes_read_dvcs_own_lines():
    """DVC 3's lines, as `dvc exp run` printed them here (ran, unchanged, restored from the run cache)."""
    out = ("Reproducing experiment 'toned-lamb'\n"
           "Stage 'prepare_mnist' didn't change, skipping\n"
           "Stage 'judge' is cached - skipping run, checking out outputs\n"
           "Running stage 'train@mnist':\n> python -m ganpipe.stages.train mnist --data data/mnist\n"
           "Updating lock file 'dvc.lock'\n"
           "Running stage 'plots@mnist':\n"
           "Stage 'report' didn't change, skipping\n")
    assert compare.stage_outcomes(out) == (["train@mnist", "plots@mnist"], ["prepare_mnist", "report"], ["judge"])
    assert compare.stage_outcomes("") == ([], [], [])
