"""A run declared once: what follows from params.yaml ``runs`` (ganpipe.runs) is what the files hold."""

from __future__ import annotations

import shutil
import sys

import pytest
import yaml

from ganpipe import cli
from ganpipe.runs import sync

from .conftest import DVC, REPO, dvc_project, sh, tiny_pipeline_params


def test_the_generated_parts_match_runs():
    """Someone who edits `runs` by hand without `ganpipe sync` fails here (the fix: run `ganpipe sync`)."""
    assert sync(REPO / "params.yaml", REPO / "dvc.yaml", write=False) == []


def project(tmp_path):
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    return tmp_path / "params.yaml", tmp_path / "dvc.yaml"


def test_a_run_added_by_hand_is_synced_everywhere(tmp_path, capsys):
    params, pipeline = project(tmp_path)
    doc = yaml.safe_load(params.read_text())
    doc["runs"]["faces2"] = {"data": "data/anime", "scorer": "?"}
    params.write_text(yaml.safe_dump(doc, sort_keys=False))
    args = ["sync", "--params", str(params), "--pipeline", str(pipeline)]
    assert cli.main([*args, "--check"]) == 2
    assert "runs.faces2.scorer: models/anime_features" in capsys.readouterr().err
    assert cli.main(args) == 0
    p, d = yaml.safe_load(params.read_text()), yaml.safe_load(pipeline.read_text())
    assert p["runs"]["faces2"] == {"data": "data/anime", "scorer": "models/anime_features"}
    assert p["evaluate_faces"]["runs"] == {name: p["runs"][name] for name in ("anime", "faces2")}
    assert p["evaluate"]["runs"] == ["mnist"]
    assert d["artifacts"]["faces2"]["path"] == "models/faces2"
    assert "reports/faces2/timing.json" in d["metrics"]
    assert {"reports/faces2/quality.json", "reports/faces2/final_samples.png"} <= set(d["stages"]["report"]["deps"])
    assert d["stages"]["report"]["deps"][-1] == "fingerprints/report.txt"  # the report's code dependency kept
    assert cli.main([*args, "--check"]) == 0 and "up to date" in capsys.readouterr().out


def test_a_removed_run_leaves_every_generated_part(tmp_path):
    params, pipeline = project(tmp_path)
    text = params.read_text()
    params.write_text("\n".join(line for line in text.splitlines() if not line.startswith("  gauss1d: {data")) + "\n")
    sync(params, pipeline)
    p, d = yaml.safe_load(params.read_text()), yaml.safe_load(pipeline.read_text())
    assert p["evaluate_gauss1d"]["runs"] == [] and "gauss1d" not in d["artifacts"]
    assert not [dep for dep in d["stages"]["report"]["deps"] if "gauss1d" in dep]
    assert d["stages"]["report"]["deps"][-1] == "fingerprints/report.txt"
    assert "reports/gauss1d/timing.json" not in d["metrics"]
    # comments and the other lines stay as they were
    assert "# the trained generators as model artifacts" in pipeline.read_text()


@pytest.mark.slow  # a whole DAG with three more runs: `make test-slow`
def test_one_added_run_of_each_kind_trains_is_scored_and_reported(tmp_path):
    """`ganpipe add-run` of a digit, a picture and a 1-D run (one entry each), then `dvc repro` on tiny settings:
    each is trained, evaluated by its kind's stage, plotted, listed as an artifact and in the report."""
    root = tmp_path / "proj"
    params = tiny_pipeline_params(xla=False)
    added = {"digits2": ("mnist", "data/mnist"), "faces2": ("anime", "data/anime"), "values2": ("gauss1d", "data/gauss1d")}
    catalogue = {"runs": {new: {"data": data, "scorer": "?"} for new, (_, data) in added.items()},
                 "train": {new: {**params["train"][old], "seed": 1} for new, (old, _) in added.items()}}
    env = dvc_project(root, params)
    (root / "more.yaml").write_text(yaml.safe_dump(catalogue, sort_keys=False))
    for new in added:
        sh([sys.executable, "-m", "ganpipe.cli", "add-run", new, "--catalogue", "more.yaml"], root, env)
    sh([sys.executable, "-m", "ganpipe.cli", "sync", "--check"], root, env)
    out = sh(DVC + ["repro"], root, env, timeout=1800)
    for stage in ("train@digits2", "evaluate@digits2", "train@faces2", "evaluate_faces@faces2", "train@values2",
                  "evaluate_gauss1d@values2", "plots@digits2", "plots@faces2", "plots@values2"):
        assert f"Running stage '{stage}'" in out, stage
    report = (root / "reports" / "report.md").read_text()
    for new in added:
        assert (root / "reports" / new / "quality.json").is_file() and new in report
    pipeline = yaml.safe_load((root / "dvc.yaml").read_text())
    assert set(added) <= set(pipeline["artifacts"])
    assert "Data and pipelines are up to date" in sh(DVC + ["status"], root, env)
