"""dvc.yaml's code dependencies: every stage depends on its own module's fingerprint, and the fingerprints
list what each module runs.

The rule (ganpipe.codedeps): a stage ``python -m ganpipe.stages.<name>`` runs the ganpipe files its
module imports, transitively, read statically with ``ast``; the fingerprint stage writes them, with
the SHA-256 of each, to fingerprints/<name>.txt, and the stage depends on that file and on no source
file. An edit must change exactly the fingerprints of the stages that import the edited file: a
fingerprint that misses a file leaves a stale result looking up to date, one that lists a file the
stage never imports reruns the stage (up to minutes) for nothing.

Non-code dependencies (data, trained scorers) are checked for the train stage only: each run
depends on its data and on the scorer of that data's kind, and on no other run's scorer.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from ganpipe.codedeps import (PACKAGE, counts, direct_imports, fingerprint, imported_modules, module_file,
                              stage_files, stage_modules)

from .conftest import REPO

# DVC 3.67's own use of pygtrie while it builds the index; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value will soon raise:DeprecationWarning")

STAGE_CMD = re.compile(r"^python -m (ganpipe\.stages\.\w+)(\s|$)")
FINGERPRINT_STAGE = "ganpipe.stages.fingerprint"


def code_deps(deps: list[str]) -> list[str]:
    return [d for d in deps if d.startswith(("src/", "fingerprints/"))]


@pytest.fixture(scope="module")
def stages() -> dict:
    """Every stage of dvc.yaml as DVC expands it for params.yaml: {name: (cmd, [dependency paths])}, params aside."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo

    with Repo(str(REPO)) as repo:
        return {s.addressing: (s.cmd, [d.def_path for d in s.deps if not isinstance(d, ParamsDependency)])
                for s in repo.index.stages}


def test_every_stage_runs_a_ganpipe_stage_module(stages):
    """The check below reads the stage module from the command: a stage that runs anything else needs it extended."""
    assert stages
    for name, (cmd, _) in stages.items():
        match = STAGE_CMD.match(cmd)
        assert match and module_file(match.group(1)), f"{name}: {cmd!r} is not python -m ganpipe.stages.<module>"


def test_every_stage_depends_on_its_own_fingerprint_and_on_no_source_file(stages):
    assert PACKAGE == REPO / "src" / "ganpipe", "the tests must run the repository's code"
    wrong = {}
    for name, (cmd, deps) in stages.items():
        module = STAGE_CMD.match(cmd).group(1)
        wanted = (["src/ganpipe"] if module == FINGERPRINT_STAGE
                  else [f"fingerprints/{module.rpartition('.')[2]}.txt"])
        if code_deps(deps) != wanted:
            wrong[name] = (code_deps(deps), wanted)
    assert not wrong, f"code dependencies (found, wanted): {wrong}"


def test_the_fingerprint_stage_writes_one_for_every_stage_module_that_dvc_yaml_runs(stages, tmp_path):
    from ganpipe.stages.fingerprint import write_fingerprints

    names = write_fingerprints(tmp_path / "fingerprints")
    used = {STAGE_CMD.match(cmd).group(1).rpartition(".")[2] for cmd, _ in stages.values()} - {"fingerprint"}
    assert used <= set(names) == {p.stem for p in (tmp_path / "fingerprints").iterdir()}
    text = (tmp_path / "fingerprints" / "plots.txt").read_text()
    listed = [line.split("  ")[1] for line in text.splitlines() if not line.startswith("#")]
    assert listed == [f"ganpipe/{f.relative_to(PACKAGE).as_posix()}" for f in stage_files("ganpipe.stages.plots")]
    assert "ganpipe/stages/plots.py" in listed and "ganpipe/fileio.py" in listed
    assert "ganpipe/evaluation/judge.py" not in listed  # plots read generator.json: no scorer code


def test_the_fingerprints_and_dvc_lock_are_those_of_the_code(tmp_path):
    """fingerprints/ is what the fingerprint stage writes for this code, and dvc.lock records those files: a
    commit's fingerprints/ diff then shows which stages it reaches, and a fresh clone's `dvc repro` reruns
    nothing. After an edit: `dvc repro` (or `dvc repro fingerprint`, then the stages it reaches)."""
    import hashlib

    from ganpipe.stages.fingerprint import write_fingerprints

    write_fingerprints(tmp_path / "now")
    now = {p.name: p.read_text() for p in (tmp_path / "now").iterdir()}
    committed = {p.name: p.read_text() for p in (REPO / "fingerprints").iterdir()}
    stale = sorted(name for name in now.keys() | committed.keys() if now.get(name) != committed.get(name))
    assert not stale, f"fingerprints/{{{','.join(stale)}}} differ from the code: run `dvc repro fingerprint`"
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    behind = sorted(f"{stage} ({dep['path']})" for stage, entry in lock.items() for dep in entry.get("deps", [])
                    if dep["path"].startswith("fingerprints/")
                    and dep["md5"] != hashlib.md5((REPO / dep["path"]).read_bytes()).hexdigest())
    assert not behind, f"dvc.lock records older code for {', '.join(behind)}: run `dvc repro`"


def test_each_train_stage_depends_on_its_data_and_its_own_scorer_only(stages):
    """runs.<name> names the run's data and the scorer of that data's kind (ganpipe.runs.folder_kind);
    train@<name> depends on those two and no other data or model, and its command names no other scorer."""
    from ganpipe.runs import folder_kind

    pipeline = yaml.safe_load((REPO / "dvc.yaml").read_text())
    scorers = set()
    for file in ("params.yaml", "experiments.yaml"):
        for run, entry in yaml.safe_load((REPO / file).read_text())["runs"].items():
            scorer = folder_kind(entry["data"], pipeline, REPO).scorer_path(entry["data"])
            assert entry == {"data": entry["data"], "scorer": scorer}, (file, run, entry)
            scorers.add(scorer)
    for run, entry in yaml.safe_load((REPO / "params.yaml").read_text())["runs"].items():
        cmd, deps = stages[f"train@{run}"]
        assert sorted(d for d in deps if d not in code_deps(deps)) == sorted(entry.values()), (run, deps)
        others = scorers - {entry["scorer"]}
        assert not [word for word in cmd.split() if word in others], (run, cmd)


def downstream_of(stage: str, root: Path = REPO) -> set[str]:
    """The stages that a change of ``stage``'s outputs can rerun: those that depend on it, transitively."""
    import networkx as nx
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        graph = repo.index.graph  # an edge from each stage to a stage whose output it depends on
        node = next(s for s in graph.nodes if s.name == stage)  # name: the address wherever the working directory is
        return {s.name for s in nx.ancestors(graph, node)}


@pytest.mark.parametrize("scorer, reached", [
    ("judge", {"train@mnist", "evaluate@mnist", "plots@mnist", "report"}),
    ("face_features@anime", {"train@anime", "evaluate_faces@anime", "plots@anime", "report"}),
    ("prepare_gauss1d", {"train@gauss1d", "evaluate_gauss1d@gauss1d", "plots@gauss1d", "report"}),
])
def test_a_scorer_reaches_only_the_runs_it_scores(scorer, reached):
    """`dvc exp run -S judge.epochs=...` can rerun only what depends on the judge: no other kind's training
    (tests/test_pipeline.py runs it); the 1-D run's scorer, its data's manifest, links it to prepare_gauss1d."""
    assert downstream_of(scorer) == reached


# ---- the checker itself, on small made-up packages: it must find what it promises ----

def test_direct_imports_reads_relative_local_and_registry_imports(tmp_path):
    pkg = tmp_path / "ganpipe"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""doc only."""\n')
    (pkg / "sub" / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom . import b\nfrom ..c import f\n"
        "if TYPE_CHECKING:\n    from ganpipe import d\n"
        "def g():\n    import ganpipe.e\n    return 'ganpipe.sub.reg:build'\n"
        "if not TYPE_CHECKING:\n    import ganpipe.runs_anyway\n"
        "try:\n    from ganpipe.not_installed import thing\nexcept ImportError:\n    thing = None\n")
    for name in ("sub/b.py", "c.py", "d.py", "e.py", "sub/reg.py", "unused.py", "runs_anyway.py"):
        (pkg / name).write_text("")
    assert direct_imports("ganpipe.sub.a", pkg) == {"ganpipe.sub", "ganpipe.sub.b", "ganpipe.c", "ganpipe.e",
                                                    "ganpipe.sub.reg", "ganpipe.runs_anyway", "ganpipe.not_installed"}
    # a module without a file (a failed optional import) runs no code of ours: left out, no error
    assert imported_modules("ganpipe.sub.a", pkg) == {"ganpipe", "ganpipe.sub", "ganpipe.sub.a", "ganpipe.sub.b",
                                                      "ganpipe.c", "ganpipe.e", "ganpipe.sub.reg", "ganpipe.runs_anyway"}
    assert not counts(pkg / "__init__.py") and counts(pkg / "sub" / "__init__.py")
    # the docstring-only package file is not listed; every other file the module runs is, in path order
    assert [f.relative_to(tmp_path).as_posix() for f in stage_files("ganpipe.sub.a", pkg)] == [
        "ganpipe/c.py", "ganpipe/e.py", "ganpipe/runs_anyway.py", "ganpipe/sub/__init__.py", "ganpipe/sub/a.py",
        "ganpipe/sub/b.py", "ganpipe/sub/reg.py"]
    # an import added later is seen (the parse is cached per version of the file)
    (pkg / "sub" / "b.py").write_text("from ganpipe import unused\n")
    assert "ganpipe.unused" in imported_modules("ganpipe.sub.a", pkg)
    assert module_file("ganpipe.nothing", pkg) is None


def fingerprints_of(package: Path) -> dict[str, str]:
    return {m: fingerprint(m, package) for m in stage_modules(package)}


def changed_by(edit: str, package: Path, before: dict[str, str], text: str = "\n# edited\n") -> set[str]:
    """The stage modules whose fingerprint changes when ``text`` is appended to ``edit`` (then undone)."""
    path = package / edit
    original = path.read_text()
    path.write_text(original + text)
    try:
        after = fingerprints_of(package)
    finally:
        path.write_text(original)
    return {m.rpartition(".")[2] for m in before if after[m] != before[m]}


def test_an_edit_changes_exactly_the_fingerprints_of_the_stages_that_import_it(tmp_path):
    package = tmp_path / "ganpipe"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    before = fingerprints_of(package)
    assert changed_by("data/anime_demo.py", package, before) == {"make_anime_demo"}
    assert changed_by("stages/report.py", package, before) == {"report"}
    # the distortions are imported with the scorers: by every stage that trains, scores or applies one
    assert changed_by("evaluation/corruptions.py", package, before) == {
        "judge", "face_features", "train", "evaluate", "evaluate_faces"}
    # an architecture is code of the stages that build networks (training, and the evaluations' untrained
    # generator) only: the others get the names (ganpipe.models, through config or export), not the builders
    builders = {"train", "evaluate", "evaluate_faces", "evaluate_gauss1d"}
    assert changed_by("models/dcgan.py", package, before) == builders
    assert changed_by("models/heads.py", package, before) == builders
    # the names are read by every stage but the fingerprint stage, which reads only the code
    all_but_fingerprint = {m.rpartition(".")[2] for m in before} - {"fingerprint"}
    assert changed_by("models/__init__.py", package, before) == all_but_fingerprint
    # the stages' shell runs in every stage
    assert changed_by("stages/_entry.py", package, before) == {m.rpartition(".")[2] for m in before}
    # a docstring-only package file runs no code: a new docstring leaves every fingerprint as it was
    assert changed_by("training/__init__.py", package, before, text="") == set()
    (package / "training" / "__init__.py").write_text('"""Another docstring."""\n')
    assert fingerprints_of(package) == before
