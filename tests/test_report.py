"""reports/report.md: rendering from collected numbers (pure), and the stage against a real git + DVC repo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ganpipe.evaluation import split_quality
from ganpipe.evaluation.digits import HEADLINE
from ganpipe.reporting.report import RunReport, collect_runs, drop_rows, quality_line, quality_table, render_report
from ganpipe.stages import report as report_stage

QUALITY = {"domain_fid": 39.7, "domain_fid_std": 1.2, "domain_kid": 0.041, "domain_kid_std": 0.002,
           "domain_precision": 0.61, "domain_precision_std": 0.02, "domain_recall": 0.42, "domain_recall_std": 0.02,
           "inception_score": 5.24, "inception_score_std": 0.05, "modes": 8, "largest_class": 0.3,
           "largest_class_std": 0.01, "memorised_share": 0.7, "memorised_share_std": 0.01,
           "class_histogram": {"0": 3, "1": 9},
           "real": {"domain_fid": 0.47, "domain_fid_std": 0.05, "inception_score": 8.5, "modes": 10, "class_histogram": {}},
           "untrained": {"domain_fid": 208.1, "domain_fid_std": 3.0, "inception_score": 1.02, "modes": 0,
                         "class_histogram": {}}}


def test_quality_table_puts_each_number_between_floor_and_ceiling():
    table = quality_table(QUALITY)
    assert table.splitlines()[0] == "| metric | this run | real data | untrained generator |"
    assert "| domain_fid | 39.7 ± 1.2 | 0.47 ± 0.05 | 208.1 ± 3 |" in table
    assert "| modes | 8 | 10 | 0 |" in table and "domain_fid_std" not in table
    assert "| inception_score | 5.24 ± 0.05 | 8.5 | 1.02 |" in table
    assert "Also: domain_kid 0.041 ± 0.002, domain_precision 0.61 ± 0.02, domain_recall 0.42 ± 0.02, largest_class 0.3 ± 0.01, memorised_share 0.7 ± 0.01." in table
    assert "class_histogram" not in table
    assert quality_table({"d_loss": 0.5}) == ""  # no baselines: no table


GAUSS1D_QUALITY = {"gen_mean": 4.0123, "gen_std": 1.104, "ks_distance": 0.0213, "target": {"mean": 4.0, "variance": 1.25}}


def test_quality_line_shows_numbers_without_baselines_and_their_target():
    assert quality_line(GAUSS1D_QUALITY) == \
        "Quality: gen_mean 4.012, gen_std 1.104, ks_distance 0.0213 (target mean 4, variance 1.25)."
    assert quality_line(QUALITY) == ""  # baselines: the table shows it
    assert quality_line({}) == ""


def test_drop_rows_sorts_and_empties_bare_headers():
    header = "| Path | Metric | HEAD | workspace | Change |\n|---|---|---|---|---|"
    md = header + "\n| b.json | x | 1 | 2 | 1 |\n| a.json | class_histogram.1 | 3 | 4 | 1 |\n| a.json | y | 1 | 2 | 1 |"
    assert drop_rows(md).splitlines()[2:] == ["| a.json | y | 1 | 2 | 1 |", "| b.json | x | 1 | 2 | 1 |"]
    assert drop_rows(header) == ""
    assert drop_rows("") == ""


def test_a_change_counts_only_beyond_the_noise_of_both_sides():
    from ganpipe.reporting.report import changes_markdown, classify_changes

    diff = {"reports/mnist/quality.json": {
                "domain_fid": {"old": 6.0, "new": 6.5, "diff": 0.5},          # noise 2 x hypot(0.3, 0.4) = 1.0
                "domain_fid_std": {"old": 0.3, "new": 0.4, "diff": 0.1},
                "domain_kid": {"old": 0.004, "new": 0.009, "diff": 0.005},    # noise 2 x hypot(1e-3, 1e-3)
                "domain_kid_std": {"old": 0.001, "new": 0.001, "diff": 0},
                "modes": {"old": 10, "new": 10, "diff": 0}},
            "reports/mnist/metrics.json": {
                "g_loss": {"old": 0.8123456789, "new": 0.8123456789 + 1e-9, "diff": 1e-9},  # two CPUs' rounding
                "d_loss": {"old": 0.5, "new": 0.6, "diff": 0.1},
                "exported": {"old": "snapshot", "new": "final"}}}
    changes, within = classify_changes(diff)
    assert [(p.split("/")[-1], m) for p, m, *_ in changes] == [
        ("metrics.json", "d_loss"), ("metrics.json", "exported"), ("quality.json", "domain_kid")]
    assert [m for _, m, *_ in within] == ["g_loss", "domain_fid"]
    text = changes_markdown(diff, "main (abc)", "workspace")
    assert text.splitlines()[0] == "| Path | Metric | main (abc) | workspace | Change | Noise (2σ) |"
    assert "| reports/mnist/quality.json | domain_kid | 0.004 | 0.009 | 0.005 | ± 0.0028 |" in text
    assert "Unchanged within noise: mnist/g_loss 0.8123 → 0.8123 (rounding); mnist/domain_fid 6 → 6.5 (noise ± 1)." in text
    # only a 1e-9 difference: the report says nothing changed
    only_rounding = {"reports/mnist/metrics.json": {"g_loss": diff["reports/mnist/metrics.json"]["g_loss"]}}
    assert changes_markdown(only_rounding, "a", "b").startswith("No metric changed beyond its noise. Unchanged within noise")
    assert changes_markdown({"reports/mnist/metrics.json": {"g_loss": {"old": 1.0, "new": 1.0, "diff": 0}}}, "a", "b") == ""


def test_render_report_has_every_section_and_links():
    runs = [RunReport("mnist", {"g_loss": 3.3, "step": 30000}, QUALITY, ["mnist/loss.png", "mnist/final_samples.png"]),
            RunReport("gauss1d", {"g_loss": 0.7}, GAUSS1D_QUALITY, ["gauss1d/histogram.png"])]
    text = render_report(compared="Compared with **HEAD (abc1234)**.", metrics_diff="| m |\n|---|\n| 1 |", params_diff="",
                         runs=runs, shared={"judge": {"test_accuracy": 0.96, "test_images": 1000}})
    assert text.startswith("# ganpipe report\n") and "Compared with **HEAD (abc1234)**" in text
    assert "## Metrics that changed\n\n| m |" in text and "No parameter changed." in text
    assert "test accuracy **0.96** on 1000" in text and "autoencoder" not in text
    assert "![mnist: loss](mnist/loss.png)" in text and "![mnist: final samples](mnist/final_samples.png)" in text
    assert "Final training values: g_loss 3.3, step 30000." in text
    assert ("### gauss1d\n\nFinal training values: g_loss 0.7.\n\nQuality: gen_mean 4.012, gen_std 1.104, "
            "ks_distance 0.0213 (target mean 4, variance 1.25).\n\n![gauss1d: histogram](gauss1d/histogram.png)") in text


def write_quality(folder, quality: dict) -> None:
    """quality.json and quality_details.json as the evaluate stage writes them."""
    headline, details = split_quality(quality, HEADLINE)
    (folder / "quality.json").write_text(json.dumps(headline))
    (folder / "quality_details.json").write_text(json.dumps(details))


def test_collect_runs_links_relative_to_the_report(tmp_path):
    (tmp_path / "reports" / "mnist").mkdir(parents=True)
    (tmp_path / "reports" / "mnist" / "loss.png").write_bytes(b"png")
    (tmp_path / "reports" / "mnist" / "metrics.json").write_text('{"g_loss": 1.0}')
    (run,) = collect_runs(tmp_path / "reports", ["mnist"], tmp_path / "reports")
    assert run.pictures == ["mnist/loss.png"] and run.metrics == {"g_loss": 1.0} and run.quality == {}
    write_quality(tmp_path / "reports" / "mnist", QUALITY)
    (run,) = collect_runs(tmp_path / "reports", ["mnist"], tmp_path / "reports")
    assert run.quality == QUALITY and set(list(run.quality)[:len(HEADLINE)]) == set(HEADLINE)  # the floors and ceilings are back
    (run,) = collect_runs(tmp_path / "reports", ["mnist"], tmp_path)
    assert run.pictures == ["reports/mnist/loss.png"]


@pytest.fixture
def repo(tmp_path):
    """A git + DVC repo with one metrics file committed, then changed in the workspace."""
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.com", DVC_NO_ANALYTICS="1")

    def sh(*args):
        subprocess.run(args, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)

    sh("git", "init", "-q", "-b", "main")
    sh(sys.executable, "-m", "dvc", "init", "-q")
    (tmp_path / "params.yaml").write_text("report:\n  base: HEAD\nruns:\n  mnist: data/mnist\ntrain:\n  mnist:\n    epochs: 5\n")
    (tmp_path / "reports" / "mnist").mkdir(parents=True)
    (tmp_path / "reports" / "mnist" / "metrics.json").write_text(json.dumps({"g_loss": 1.5, "step": 4}))
    write_quality(tmp_path / "reports" / "mnist", QUALITY)
    (tmp_path / "dvc.yaml").write_text("metrics:\n  - reports/mnist/metrics.json\n  - reports/mnist/quality.json\n")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "base")
    (tmp_path / "reports" / "mnist" / "metrics.json").write_text(json.dumps({"g_loss": 2.5, "step": 9}))
    (tmp_path / "params.yaml").write_text((tmp_path / "params.yaml").read_text().replace("epochs: 5", "epochs: 10"))
    (tmp_path / "reports" / "mnist" / "loss.png").write_bytes(b"png")
    return tmp_path


def test_report_command_diffs_against_the_base_revision(repo, monkeypatch, capsys):
    from ganpipe import cli

    monkeypatch.chdir(repo)
    assert cli.main(["report"]) == 0
    text = (repo / "reports" / "report.md").read_text()
    assert re.search(r"\| reports/mnist/metrics.json +\| g_loss +\| 1.5 +\| 2.5 +\| 1 ", text), text
    assert re.search(r"\| params.yaml +\| train.mnist.epochs +\| 5 +\| 10 ", text), text
    assert "| domain_fid | 39.7 ± 1.2 | 0.47 ± 0.05 | 208.1 ± 3 |" in text and "![mnist: loss](mnist/loss.png)" in text
    assert "class_histogram" not in text.split("## Quality")[0]
    assert "wrote reports/report.md (compared with HEAD)" in capsys.readouterr().out


def test_unknown_base_is_said_in_the_report(repo, monkeypatch):
    monkeypatch.chdir(repo)
    assert report_stage.main(["--base", "no-such-branch", "--out", "r.md"]) == 0
    text = (repo / "r.md").read_text()
    assert "dvc metrics diff against no-such-branch failed" in text and "unknown" in text.lower()
    assert "![mnist: loss](reports/mnist/loss.png)" in text


def test_report_without_runs_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "params.yaml").write_text("report:\n  base: HEAD\n")
    assert report_stage.main(["--params", str(tmp_path / "params.yaml"), "--out", str(tmp_path / "r.md")]) == 2
    assert "runs: expected a mapping" in capsys.readouterr().err
    assert not (tmp_path / "r.md").exists()
