"""The training path stays readable: no function on it over 40 lines, no signature over 8 parameters.

"The training path" is every module under src/ganpipe/training and src/ganpipe/stages. Lines are
counted from ``def`` to the function's last line, its docstring left out (a docstring that explains
shapes and ranges is wanted, not a cost); parameters are every named one (``self``/``cls`` aside),
``*args`` and ``**kwargs`` counting one each. Read with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

MAX_LINES = 40
MAX_PARAMS = 8
FOLDERS = ("src/ganpipe/training", "src/ganpipe/stages")
# being reworked on main by another change (auto by measurement); split them when that settles
PENDING = {("src/ganpipe/training/hardware.py", "probe"), ("src/ganpipe/training/hardware.py", "resolve")}


def functions(path: Path):
    """(name, code lines without the docstring, parameter count) of every function and method in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        lines = node.end_lineno - node.lineno + 1
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
        a = node.args
        names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
        params = len(names) - (names[:1] in (["self"], ["cls"])) + (a.vararg is not None) + (a.kwarg is not None)
        yield node.name, lines, params


def too_big(path: Path) -> list[str]:
    return [f"{name}: {lines} lines, {params} parameters" for name, lines, params in functions(path)
            if lines > MAX_LINES or params > MAX_PARAMS]


@pytest.mark.parametrize("path", sorted(p.relative_to(REPO).as_posix()
                                        for folder in FOLDERS for p in (REPO / folder).glob("*.py")))
def test_functions_are_short_with_few_parameters(path):
    found = too_big(REPO / path)
    pending = sorted(name for file, name in PENDING if file == path)
    assert [f.split(":")[0] for f in found] == pending, (
        f"{path}: over {MAX_LINES} lines or {MAX_PARAMS} parameters: {found}" if found
        else f"{path}: {pending} are short now: remove them from PENDING")


def test_the_check_sees_a_long_function_and_a_long_signature(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    source = f'def long():\n    """doc"""\n{body}\n\n\ndef wide(self, a, b, c, d, e, f, g, *rest, **more):\n    pass\n'
    (tmp_path / "m.py").write_text(source)
    assert too_big(tmp_path / "m.py") == [f"long: {MAX_LINES + 1} lines, 0 parameters", "wide: 2 lines, 9 parameters"]
