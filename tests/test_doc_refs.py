"""The pipeline files' comments point to documentation that exists.

A comment in dvc.yaml, params.yaml or experiments.yaml refers to a page as ``README`` or
``docs/<page>.md``, optionally with a section in quotes after a colon or comma:
``docs/training.md: "Every train.<name> key"``. The page must exist, and the section must be one of
its headings (backticks aside; a heading's closing parenthesis, as in "The MNIST GAN
(`train.mnist`)", may be left out). A section named without quotes (``README: Scaling out``) is an
error too: it could not be checked.
"""

from __future__ import annotations

import re

import pytest

from .conftest import REPO

FILES = ("dvc.yaml", "params.yaml", "experiments.yaml")
REFERENCE = re.compile(r"\b(README(?:\.md)?|docs/[\w.-]+\.md)(?:\s*[:,]\s*(\"[^\"]*\"|[^\s\"()][^)]*))?")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$")


def comments(text: str) -> list[tuple[int, str]]:
    """(line number, comment text) of every YAML comment in ``text`` (none of these files has a '#' in a value)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            out.append((number, line.lstrip()[1:]))
        elif " #" in line:
            out.append((number, line.split(" #", 1)[1]))
    return out


def references(text: str) -> list[tuple[int, str, str | None, str | None]]:
    """(line, page, quoted section or None, unquoted text after the page's colon or None) of each reference."""
    found = []
    for number, comment in comments(text):
        for match in REFERENCE.finditer(comment):
            page, after = match.group(1), match.group(2)
            quoted = after[1:-1] if after and after.startswith('"') else None
            found.append((number, page, quoted, after if after and quoted is None else None))
    return found


def _plain(text: str) -> str:
    return " ".join(text.replace("`", "").split())


def headings(page) -> set[str]:
    """The section names a reference may use for ``page``: each heading, and each without its closing '(...)'."""
    names = set()
    in_code = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        match = None if in_code else HEADING.match(line)
        if match:
            title = _plain(match.group(1))
            names.add(title)
            names.add(re.sub(r"\s*\([^()]*\)$", "", title))
    return names


def page_path(page: str):
    return REPO / ("README.md" if page.startswith("README") else page)


@pytest.mark.parametrize("file", FILES)
def test_every_documentation_reference_exists(file):
    problems = []
    for number, page, section, unquoted in references((REPO / file).read_text(encoding="utf-8")):
        where = f"{file}:{number}: {page}"
        if not page_path(page).is_file():
            problems.append(f"{where}: no such page")
        elif unquoted is not None:
            problems.append(f"{where}: {unquoted!r}: put the section name in quotes, as a heading of {page}")
        elif section is not None and _plain(section) not in headings(page_path(page)):
            problems.append(f"{where}: no section \"{section}\" (headings: {sorted(headings(page_path(page)))})")
    assert not problems, "\n".join(problems)


def test_the_check_finds_what_it_promises(tmp_path, monkeypatch):
    text = ('a: 1  # see README, "Quick start"\n'
            'b: 2  # docs/training.md: "The MNIST GAN"; README: Scaling out\n'
            '# (docs/nowhere.md) and docs/ci.md, "`ganpipe report`: the workspace against a commit"\n')
    assert references(text) == [
        (1, "README", "Quick start", None),
        (2, "docs/training.md", "The MNIST GAN", None), (2, "README", None, "Scaling out"),
        (3, "docs/nowhere.md", None, None),
        (3, "docs/ci.md", "`ganpipe report`: the workspace against a commit", None),
    ]
    assert "The MNIST GAN" in headings(REPO / "docs" / "training.md")
    assert "ganpipe report: the workspace against a commit" in headings(REPO / "docs" / "ci.md")
    assert "Scaling out" not in headings(REPO / "README.md")
