"""`dvc exp show` on the real dvc.yaml and params.yaml (shrunk): which columns it prints, in which order.

DVC 3 prints one column per key of params.yaml, per metric of every metrics file and per dependency
path of every stage, and has no setting to hide any of them. So the columns are decided by what the
project declares: metrics files with the headline numbers only, the ready-made experiments kept in
experiments.yaml; the code dependencies are one fingerprint per stage module (tests/test_dvc_deps.py), at the right.
"""

import csv
import io
import json
import re

import pytest
import yaml

from .conftest import REPO
from .test_pipeline import project, sh  # noqa: F401  (project is a fixture)

# quality.json of each kind of run: the numbers that lead the table
HEADLINE = ["domain_fid", "domain_fid_std", "domain_kid", "domain_kid_std", "domain_precision", "domain_precision_std",
            "domain_recall", "domain_recall_std", "inception_score", "inception_score_std", "largest_class",
            "largest_class_std", "memorised_share", "memorised_share_std", "modes",
            "detected_share", "detected_share_std", "face_fid", "face_fid_std", "face_kid", "face_kid_std",
            "face_precision", "face_precision_std", "face_recall", "face_recall_std",
            "gen_mean", "gen_mean_std", "gen_std", "gen_std_std", "ks_distance", "ks_distance_std"]
FIXED = ["Experiment", "rev", "typ", "Created", "parent"]  # DVC's own columns (State, Executor: queued runs only)
# what the evaluate stages keep out of the metrics files (quality_details.json): floors, ceilings, histograms
NOT_METRICS = re.compile(r"(^|[.:])(real|untrained|class_histogram|target|compared|memorisation_threshold|"
                         r"confident_share)([.:]|$)")


def declared_code() -> set[str]:
    """Every code dependency of the real dvc.yaml: src/ganpipe (the fingerprint stage's) and the fingerprints."""
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    deps = (dep if isinstance(dep, str) else next(iter(dep)) for stage in stages.values()
            for dep in stage.get("do", stage).get("deps", []))  # a foreach stage's deps are under do:
    return {dep for dep in deps if dep.startswith(("src/", "fingerprints/"))}


def leaves(tree: dict, prefix: str = "") -> list[str]:
    """Dotted paths of the scalar and list values of a YAML mapping, as DVC flattens params."""
    out = []
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out += leaves(value, f"{prefix}{key}.")
        elif not isinstance(value, dict):
            out.append(f"{prefix}{key}")
    return out


def table(root, env, dvc, *flags) -> tuple[list[str], list[dict]]:
    text = sh(dvc + ["exp", "show", "--csv", *flags], root, env)
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]


@pytest.mark.slow  # a whole DAG and two experiments (about 5 minutes on 2 CPU cores): `make test-slow`
def test_exp_show_columns_after_two_experiments(project):
    root, env, dvc = project
    sh(dvc + ["repro"], root, env)
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-qm", "baseline"], root, env)
    params = yaml.safe_load((root / "params.yaml").read_text())

    header, _ = table(root, env, dvc)
    deps = set(json.loads(sh(dvc + ["exp", "show", "--json"], root, env))[0]["data"]["deps"])
    param_cols = [c for c in header if c in set(leaves(params))]
    dep_cols = [c for c in header if c in deps]
    metric_cols = [c for c in header if c not in set(FIXED) | set(param_cols) | deps]
    counts = f"{len(header)} columns: {len(metric_cols)} metrics, {len(param_cols)} params, {len(dep_cols)} deps"
    # the metrics: the quality headline first (what a 160-column terminal shows), nothing of the baselines
    assert header[:len(FIXED)] == FIXED, header
    assert metric_cols[:len(HEADLINE)] == HEADLINE, metric_cols
    assert not [c for c in metric_cols if NOT_METRICS.search(c)], metric_cols
    # 20 quality (each distance with its _std), final losses and best snapshots (with their noise, floor
    # and what was exported), the scorers' own metrics, timings
    assert len(metric_cols) <= 90, (counts, metric_cols)
    # the params: params.yaml, which holds the default runs only; the others wait in experiments.yaml
    assert param_cols == leaves(params), counts
    assert sorted(params["train"]) == sorted(params["runs"]) == ["anime", "gauss1d", "mnist"]
    catalogue = yaml.safe_load((REPO / "experiments.yaml").read_text())["train"]
    assert not [c for c in header if any(c.startswith(f"train.{name}.") for name in catalogue)]
    # the dependencies: src/ganpipe and one code fingerprint per stage module (tests/test_dvc_deps.py), not
    # one column per source file, and at most 36 data, model and report paths: nothing else becomes a column
    code_cols = [c for c in dep_cols if c.startswith(("src/", "fingerprints/"))]
    assert set(code_cols) == declared_code() and len(code_cols) <= 13, (counts, dep_cols)
    assert len(dep_cols) - len(code_cols) <= 36, (counts, dep_cols)

    # two experiments from the baseline, one param each: both rows show the param that tells them apart
    sh(dvc + ["exp", "run", "--temp", "-n", "longer", "-S", "train.mnist.epochs=8"], root, env)
    sh(dvc + ["exp", "run", "--temp", "-n", "bigbatch", "-S", "train.mnist.batch_size=8"], root, env)
    header, rows = table(root, env, dvc)
    by_name = {row["Experiment"]: row for row in rows if row["Experiment"]}
    assert (by_name["longer"]["train.mnist.epochs"], by_name["longer"]["train.mnist.batch_size"]) == ("8", "4")
    assert (by_name["bigbatch"]["train.mnist.epochs"], by_name["bigbatch"]["train.mnist.batch_size"]) == ("5", "8")
    assert all(by_name[name]["domain_fid"] not in ("", "-") for name in by_name)

    # --only-changed: the params that differ, the metrics they moved, none of the constant settings
    changed, _ = table(root, env, dvc, "--only-changed")
    assert {"train.mnist.epochs", "train.mnist.batch_size", "domain_fid"} <= set(changed), changed
    assert not [c for c in changed if c.startswith(("prepare_", "judge.", "evaluate", "face_features.", "train.anime."))]
    assert "face_fid" not in changed  # the anime run was not touched

    # --sort-by a headline metric ranks the experiments by it
    _, ranked = table(root, env, dvc, "--sort-by", "domain_fid", "--sort-order", "asc")
    fids = [float(row["domain_fid"]) for row in ranked if row["Experiment"]]  # the experiments under main
    assert len(fids) == 2 and fids == sorted(fids), ranked
