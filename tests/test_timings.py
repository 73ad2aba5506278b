"""Each stage's seconds: recorded by the stages under DVC, shown as a table after dvc repro and in the report."""

import json
import os
import subprocess
import sys

from ganpipe import timings

from .conftest import REPO, real_params, save_params


def test_a_stage_under_dvc_records_its_seconds_and_outside_dvc_does_not(tmp_path):
    params = real_params()
    params["prepare_gauss1d"]["count"] = 100
    save_params(tmp_path, params)
    cmd = [sys.executable, "-m", "ganpipe.stages.prepare_gauss1d", "--out", "g"]
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", "DVC_ROOT")}
    subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    assert not (tmp_path / "reports").exists(), "no DVC_STAGE: nothing recorded"
    root = tmp_path / "root"
    subprocess.run(cmd, cwd=tmp_path, env={**env, "DVC_STAGE": "prepare_gauss1d", "DVC_ROOT": str(root)}, check=True,
                   capture_output=True, timeout=120)
    saved = json.loads((root / "reports" / "timings" / "prepare_gauss1d.json").read_text())
    assert saved["stage"] == "prepare_gauss1d" and saved["status"] == "ok" and 0 < saved["seconds"] < 120
    bad = subprocess.run(cmd + ["--params", "missing.yaml"], cwd=tmp_path, capture_output=True, timeout=120,
                         env={**env, "DVC_STAGE": "prepare_gauss1d", "DVC_ROOT": str(root)})
    assert bad.returncode == 2
    assert timings.read_timings(root)[0]["status"] == "failed"


def test_the_table_says_what_ran_and_what_was_up_to_date(tmp_path):
    timings.record(tmp_path, "prepare_mnist", 4.04, "ok", finished=1000.0)
    timings.record(tmp_path, "train@mnist", 104.0, "ok", finished=2100.0)
    timings.record(tmp_path, "plots@mnist", 7.5, "ok", finished=2110.0)
    (tmp_path / "reports" / "timings" / "junk.json").write_text("{")
    rows = timings.read_timings(tmp_path)
    assert [r["stage"] for r in rows] == ["prepare_mnist", "train@mnist", "plots@mnist"]
    text = timings.text_table(rows, since=2000.0, now=2120.0)
    lines = text.splitlines()
    assert lines[1].split()[:3] == ["prepare_mnist", "4.0", "up"] and "up to date (last run" in lines[1]
    assert lines[2].split() == ["train@mnist", "104.0", "ran"]
    assert lines[4].split()[:2] == ["total", "111.5"] and "2 stage(s) ran, 1 up to date" in lines[4]
    assert lines[5] == "dvc repro took 120.0 s: 111.5 s in the stages, 8.5 s in DVC itself (hashing, checking, caching)"
    md = timings.markdown_table(rows)
    assert md.splitlines()[0] == "| stage | seconds | finished |" and "| **total** | **115.5** | |" in md
    assert timings.markdown_table([]) == "" and "none recorded" in timings.text_table([])


def test_stage_names_of_other_dvc_files_make_flat_file_names():
    assert timings.file_name("train@mnist") == "train@mnist.json"
    assert timings.file_name("sub/dvc.yaml:train@x") == "sub_dvc.yaml_train@x.json"


def test_the_module_prints_the_table(tmp_path):
    timings.record(tmp_path, "judge", 11.0, "ok", finished=5.0)
    out = subprocess.run([sys.executable, "-m", "ganpipe.timings", "--root", str(tmp_path), "--since", "1"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.splitlines()[1].split() == ["judge", "11.0", "ran"]


def test_the_report_gets_the_stage_times_when_there_are_some(tmp_path):
    from ganpipe.reporting.report import stage_times_section

    assert stage_times_section(tmp_path / "reports") == ""
    timings.record(tmp_path, "train@anime", 227.0, "ok", finished=5.0)
    section = stage_times_section(tmp_path / "reports")
    assert section.startswith("\n## Stage times\n") and "| train@anime | 227.0 |" in section


def test_dvc_reads_the_pipeline_files_with_the_c_parser():
    """DVC loads dvc.yaml and dvc.lock (each stage it runs: several times) with ruamel.yaml's ``safe`` loader,
    which is pure Python unless ruamel.yaml.clib is installed (ruamel.yaml 0.19 made it optional); ganpipe
    installs it. The C parser reads the same data."""
    from dvc.utils.serialize._yaml import parse_yaml
    from ruamel.yaml import YAML

    assert YAML(typ="safe").Parser.__name__ == "CParser"
    text = (REPO / "dvc.lock").read_text()
    assert parse_yaml(text, "dvc.lock") == YAML(typ="safe", pure=True).load(text)
