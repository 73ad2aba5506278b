"""Which ganpipe source files a stage runs, read statically, and one fingerprint of them.

A stage ``python -m ganpipe.stages.<name>`` runs its module and every ganpipe module that module
imports, transitively. The imports are read with ``ast`` (nothing is imported). Counted as imports
of a module:

- every ``import``/``from ... import`` of a ganpipe module, wherever it stands (function-local ones
  included: they run when the function does), except under ``if TYPE_CHECKING:``;
- ``from package import name`` where ``package.name`` is a module file;
- a string constant that is exactly a module path, ``"ganpipe.models.dense"`` or
  ``"ganpipe.models.dense:build"``: the registry's targets, loaded with ``importlib``;
- the ``__init__.py`` of every package above an imported module (Python runs it first), unless it
  holds nothing but a docstring, which no stage's result can depend on.

:func:`fingerprint` lists those files with the SHA-256 of each: the ``fingerprint`` stage writes one
such list per stage module, and each stage depends on its own list instead of on the files, so an
edit reruns exactly the stages whose code it changes (docs/pipeline.md, "Code dependencies").
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path

import ganpipe

PACKAGE = Path(ganpipe.__file__).resolve().parent  # the ganpipe that runs: the repository's src/ganpipe
MODULE_STRING = re.compile(r"(ganpipe(?:\.\w+)+)(?::\w+)?")  # "ganpipe.models.dense:build"


def module_file(module: str, package: Path = PACKAGE) -> Path | None:
    """The source file of a dotted ganpipe module or package, or None if there is none."""
    base = package.parent.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:`` (not ``if not TYPE_CHECKING:``, whose body runs)."""
    return ast.unparse(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def direct_imports(module: str, package: Path = PACKAGE) -> frozenset[str]:
    """The ganpipe modules that ``module``'s source imports anywhere in it (the rules in this module's docstring)."""
    path = module_file(module, package)
    if path is None:
        raise ValueError(f"{module}: no such ganpipe module under {package}")
    return _imports_in(module, path, package, _version(path))


def _version(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=None)  # one read, hash and parse per version of a file: the stage modules share most files
def _source(path: Path, version: tuple[int, int]) -> tuple[str, ast.Module]:
    """(SHA-256, syntax tree) of a source file as it is at ``version`` (mtime_ns, size)."""
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), ast.parse(data, filename=str(path))


@functools.lru_cache(maxsize=None)
def _imports_in(module: str, path: Path, package: Path, version: tuple[int, int]) -> frozenset[str]:
    parent = module if path.name == "__init__.py" else module.rpartition(".")[0]
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
                parts = parent.split(".")[: len(parent.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == "ganpipe":
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names if module_file(f"{base}.{a.name}", package))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            match = MODULE_STRING.fullmatch(node.value)
            if match and module_file(match.group(1), package):
                found.add(match.group(1))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(_source(path, version)[1])
    return frozenset(found)


def imported_modules(module: str, package: Path = PACKAGE) -> set[str]:
    """``module`` and every ganpipe module and package that importing it runs, transitively."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        parts = todo.pop().split(".")
        for end in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__.py and a/b/__init__.py first
            name = ".".join(parts[:end])
            if name not in seen and module_file(name, package) is not None:  # no file: a failed optional import
                seen.add(name)
                todo.extend(direct_imports(name, package))
    return seen


def counts(path: Path) -> bool:
    """Whether a source file can change a stage's result: all but a docstring-only ``__init__.py``."""
    return _facts(path)[1]


def _facts(path: Path) -> tuple[str, bool]:
    """(SHA-256, :func:`counts`) of a source file."""
    digest, tree = _source(path, _version(path))
    docstring_only = path.name == "__init__.py" and len(tree.body) <= 1 and all(
        isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in tree.body)
    return digest, not docstring_only


def stage_files(module: str, package: Path = PACKAGE) -> list[Path]:
    """The counted source files that running ``module`` imports, in path order."""
    files = {module_file(m, package) for m in imported_modules(module, package)}
    return sorted((f for f in files if counts(f)), key=lambda f: f.relative_to(package.parent).as_posix())


def fingerprint(module: str, package: Path = PACKAGE) -> str:
    """The text of ``module``'s fingerprint: a heading line, then ``<sha256>  ganpipe/<path>`` per file it runs."""
    lines = [f"# the ganpipe source that `python -m {module}` runs: SHA-256 of each file (written by the fingerprint stage)"]
    for path in stage_files(module, package):
        lines.append(f"{_facts(path)[0]}  {path.relative_to(package.parent).as_posix()}")
    return "\n".join(lines) + "\n"


def stage_modules(package: Path = PACKAGE) -> list[str]:
    """Every stage module, ``ganpipe.stages.<name>`` (the stages' shell ``_entry`` and packages aside)."""
    return sorted(f"ganpipe.stages.{p.stem}" for p in (package / "stages").glob("*.py") if not p.stem.startswith("_"))
