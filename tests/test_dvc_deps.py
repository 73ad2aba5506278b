"""dvc.yaml's code dependencies, checked against what each stage's command imports.

The rule: a stage's ``src/`` dependencies are exactly the ganpipe source files its command
(``python -m ganpipe.stages.<name>``) imports, transitively, read statically with ``ast`` (nothing is
imported here). Counted as imports of a module:

- every ``import``/``from ... import`` of a ganpipe module, wherever it stands (function-local ones
  included: they run when the function does), except under ``if TYPE_CHECKING:``;
- ``from package import name`` where ``package.name`` is a module file;
- a string constant that is exactly a module path, ``"ganpipe.models.dense"`` or
  ``"ganpipe.models.dense:build"``: the registry's targets, loaded with ``importlib``;
- the ``__init__.py`` of every package above an imported module (Python runs it first), unless it
  holds nothing but a docstring, which no stage's result can depend on.

A dependency may be a file or a folder. A folder counts only where the stage imports every counted
file under it: a folder that covers modules the stage never imports is superfluous, because a
change to those would rerun the stage for nothing (one stage of ganpipe costs up to minutes). A file
the stage does not import is superfluous too; a file it imports that no dependency covers is missing
(a change to it would leave a stale result looking up to date).

Non-code dependencies (data, trained scorers) are checked for the train stage only: each run
depends on its data and on the scorer of that data's kind, and on no other run's scorer.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

# DVC 3.67's own use of pygtrie while it builds the index; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value will soon raise:DeprecationWarning")

SRC = REPO / "src"
STAGE_CMD = re.compile(r"^python -m (ganpipe\.stages\.\w+)(\s|$)")
MODULE_STRING = re.compile(r"(ganpipe(?:\.\w+)+)(?::\w+)?")  # "ganpipe.models.dense:build"


def module_file(module: str) -> Path | None:
    """The source file of a dotted ganpipe module or package, or None if there is none."""
    base = SRC.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def direct_imports(module: str) -> set[str]:
    """The ganpipe modules that ``module``'s source imports anywhere in it (the rule in this file's docstring)."""
    path = module_file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "ganpipe")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == "ganpipe":
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names if module_file(f"{base}.{a.name}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_STRING.fullmatch(node.value)
            if match and module_file(match.group(1)):
                found.add(match.group(1))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
    return found


def imported_modules(module: str) -> set[str]:
    """``module`` and every ganpipe module and package that importing it runs, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        for end in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            name = ".".join(parts[:end])
            if name not in seen:
                seen.add(name)
                todo.extend(direct_imports(name))
    return seen


def counts(path: Path) -> bool:
    """Whether a source file can change a stage's result: all but a docstring-only ``__init__.py``."""
    if path.name != "__init__.py":
        return True
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return not (len(body) <= 1 and all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def covered_by(dep: str) -> set[str]:
    """The counted source files that dependency ``dep`` (a file or a folder under src/) covers."""
    path = REPO / dep
    files = [path] if path.is_file() else [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
    return {rel(f) for f in files if counts(f)}


def stage_code(module: str) -> set[str]:
    """The counted source files (repository-relative) that running ``module`` imports."""
    return {rel(module_file(m)) for m in imported_modules(module) if counts(module_file(m))}


def minimal_deps(files: set[str]) -> list[str]:
    """``files`` as the dependency list the rule asks for: a folder where all its counted files are in it."""
    by_folder: dict[str, set[str]] = {}
    for f in files:
        by_folder.setdefault(f.rpartition("/")[0], set()).add(f)
    deps = []
    for folder, inside in sorted(by_folder.items()):
        subfolders = any(other.startswith(folder + "/") for other in by_folder)
        if folder != "src/ganpipe" and not subfolders and len(inside) > 1 and covered_by(folder) == inside:
            deps.append(folder)
        else:
            deps += sorted(inside)
    return deps


def check_code_deps(module: str, deps: list[str]) -> list[str]:
    """What is wrong with the ``src/`` dependencies ``deps`` of a stage running ``module``: missing and
    superfluous entries, one line each (empty: nothing)."""
    used = stage_code(module)
    src = [d.rstrip("/") for d in deps if d.startswith("src/")]
    problems = [f"missing {f}" for f in sorted(used - set().union(*map(covered_by, src)))]
    for dep in src:
        unused = covered_by(dep) - used
        if not (REPO / dep).exists():
            problems.append(f"superfluous {dep} (no such file or folder)")
        elif not covered_by(dep):
            problems.append(f"superfluous {dep} (a docstring only)")
        elif unused:
            problems.append(f"superfluous {dep}" + (f" (not imported: {', '.join(sorted(unused))})"
                                                    if (REPO / dep).is_dir() and unused != covered_by(dep) else ""))
    return problems


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


def test_code_dependencies_match_the_imports(stages):
    report = []
    for name, (cmd, deps) in stages.items():
        module = STAGE_CMD.match(cmd).group(1)
        problems = check_code_deps(module, deps)
        if problems:
            wanted = "\n".join(f"      - {d}" for d in minimal_deps(stage_code(module)))
            report.append(f"{name}:\n  " + "\n  ".join(problems) + f"\n  the rule's list:\n{wanted}")
    assert not report, "dvc.yaml's src/ dependencies do not match the imports:\n" + "\n".join(report)


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
        assert sorted(d for d in deps if not d.startswith("src/")) == sorted(entry.values()), (run, deps)
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

def test_direct_imports_reads_relative_local_and_registry_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "ganpipe"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""doc only."""\n')
    (pkg / "sub" / "__init__.py").write_text("X = 1\n")
    (pkg / "sub" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nfrom . import b\nfrom ..c import f\n"
        "if TYPE_CHECKING:\n    from ganpipe import d\n"
        "def g():\n    import ganpipe.e\n    return 'ganpipe.sub.reg:build'\n")
    for name in ("sub/b.py", "c.py", "d.py", "e.py", "sub/reg.py", "unused.py"):
        (pkg / name).write_text("")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert direct_imports("ganpipe.sub.a") == {"ganpipe.sub", "ganpipe.sub.b", "ganpipe.c", "ganpipe.e",
                                               "ganpipe.sub.reg"}
    assert imported_modules("ganpipe.sub.a") == {"ganpipe", "ganpipe.sub", "ganpipe.sub.a", "ganpipe.sub.b",
                                                 "ganpipe.c", "ganpipe.e", "ganpipe.sub.reg"}
    assert not counts(pkg / "__init__.py") and counts(pkg / "sub" / "__init__.py")


def test_check_flags_missing_and_superfluous_dependencies():
    used = stage_code("ganpipe.stages.plots")
    assert "src/ganpipe/stages/plots.py" in used and "src/ganpipe/stages/_entry.py" in used
    exact = minimal_deps(used)
    assert check_code_deps("ganpipe.stages.plots", exact) == []
    dropped = [d for d in exact if d != "src/ganpipe/fileio.py"]
    assert check_code_deps("ganpipe.stages.plots", dropped) == ["missing src/ganpipe/fileio.py"]
    extra = check_code_deps("ganpipe.stages.plots", exact + ["src/ganpipe/evaluation", "src/ganpipe/seeds.py"])
    assert extra[0].startswith("superfluous src/ganpipe/evaluation") and extra[1] == "superfluous src/ganpipe/seeds.py"
    assert check_code_deps("ganpipe.stages.plots", exact + ["src/ganpipe/training/__init__.py"]) == [
        "superfluous src/ganpipe/training/__init__.py (a docstring only)"]
    # a folder whose modules the stage imports only in part is superfluous, with what it covers in vain
    partial = check_code_deps("ganpipe.stages.plots", [d for d in exact if not d.startswith("src/ganpipe/training")]
                              + ["src/ganpipe/training"])
    assert partial == [next(p for p in partial if p.startswith("superfluous src/ganpipe/training (not imported: "))]
