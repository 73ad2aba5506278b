"""``ganpipe compare BASE [HEAD] [-S KEY=VALUE ...]``: two commits rebuilt the same way, then compared.

A report that diffs a pull request's small CI run against the base branch's committed full-size
results sees every metric "change" and lists the small-run overrides as if the pull request made
them. Here each side is rebuilt from its own commit, in its own temporary clone, with the same
``dvc exp run -S ...`` overrides, on the same machine; the clones share the project's DVC cache.
Within a side, a stage whose dvc.lock entry still matches (same code, params and inputs) keeps its
outputs from the DVC cache and does not run; every other stage runs. DVC saves no run-cache entry
for a stage with an uncached output that is neither a metric nor a plot, and every ganpipe stage
keeps such a file in git (a preview, the history, quality_details.json), so no stage's results
pass from one side to the other. Each side prints which stages it ran, in how many seconds, and
which it kept, and the report's first line says so. Each side's results are committed in its clone and fetched as
``refs/ganpipe/compare/{base,head}``; DVC then diffs those two commits, so the params table shows
only what differs between the commits and a change that touches nothing reports no metric change.

The working tree is left alone: only committed revisions are compared. The report and the head
side's pictures go to ``reports/compare/`` (not a stage output; ignored by git).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .errors import GanpipeError
from .fileio import write_text_atomic

REF_PREFIX = "refs/ganpipe/compare/"
OUT_DIR = Path("reports") / "compare"
# author of the commits that hold each side's rebuilt results (they live under refs/ganpipe only)
_IDENTITY = ["-c", "user.name=ganpipe compare", "-c", "user.email=compare@ganpipe.invalid"]


def _git(args: list[str], cwd, what: str = "") -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
        raise GanpipeError(f"{what or 'git ' + args[0]}: {lines[-1] if lines else f'exit status {proc.returncode}'}")
    return proc.stdout.strip()


def _dvc(args: list[str], cwd, env=None, what: str = "") -> str:
    from .reporting.report import run_dvc

    ok, out = run_dvc(args, cwd, env=env, timeout=None)  # a rebuild takes as long as the pipeline does
    if not ok:
        raise GanpipeError(f"{what or 'dvc ' + args[0]}: {out}")
    return out


def resolve(rev: str, repo) -> str:
    """The full commit id of ``rev`` in ``repo``; a one-line error naming ``rev`` if git does not know it."""
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=repo,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise GanpipeError(f"{rev}: not a commit here")
    return proc.stdout.strip()


@dataclasses.dataclass(frozen=True)
class Rebuilt:
    """What ``dvc exp run`` did on one side: stages run, stages kept from the cache, seconds."""

    ran: int
    kept: int
    seconds: float

    def __str__(self) -> str:
        return f"{self.ran} stage{'s' * (self.ran != 1)} run in {self.seconds:.0f} s, {self.kept} unchanged"


def stage_outcomes(dvc_output: str) -> tuple[list[str], list[str], list[str]]:
    """The stages a ``dvc repro``/``dvc exp run`` output says it ran, kept because they did not change,
    and restored from DVC's run cache, each in the order DVC printed them."""
    return (re.findall(r"^Running stage '([^']+)'", dvc_output, re.M),
            re.findall(r"^Stage '([^']+)' didn't change", dvc_output, re.M),
            re.findall(r"^Stage '([^']+)' is cached", dvc_output, re.M))


def rebuild(sha: str, side: str, *, repo: Path, cache: str, settings: list[str], workdir: Path) -> tuple[Path, Rebuilt]:
    """Clone ``repo`` at ``sha`` into ``workdir/side``, run ``dvc exp run -S settings`` there with its own
    ``src`` on the import path, commit the results and fetch them as ``refs/ganpipe/compare/<side>``.
    Returns the clone and what ``dvc exp run`` did there."""
    folder = workdir / side
    _git(["clone", "--quiet", "--shared", "--no-checkout", str(repo), str(folder)], workdir)
    _git(["checkout", "--quiet", "--detach", sha], folder)
    _dvc(["config", "--local", "cache.dir", cache], folder)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(folder / "src"),
                                                                      os.environ.get("PYTHONPATH")])))
    # data tracked by .dvc files comes from the shared cache; outputs it lacks are rebuilt by the run
    subprocess.run([sys.executable, "-m", "dvc", "checkout", "--quiet"], cwd=folder, env=env, capture_output=True)
    overrides = [arg for setting in settings for arg in ("-S", setting)]
    print(f"compare: rebuilding {side} ({sha[:7]}){' with ' + ' '.join(overrides) if overrides else ''}",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    out = _dvc(["exp", "run", *overrides], folder, env=env, what=f"{side} ({sha[:7]}): dvc exp run")
    seconds = time.perf_counter() - started
    ran, kept, restored = stage_outcomes(out)
    print(f"compare: {side} ran {', '.join(ran) or 'no stage'} in {seconds:.0f} s; "
          f"unchanged (kept from the DVC cache): {', '.join(kept) or 'none'}; "
          f"from DVC's run cache: {', '.join(restored) or 'none'}",
          file=sys.stderr, flush=True)
    _git(["add", "-A"], folder)
    _git([*_IDENTITY, "commit", "--quiet", "--allow-empty", "-m",
          f"ganpipe compare: {side} {sha[:7]} rebuilt with {' '.join(overrides) or 'its own params'}"], folder)
    _git(["fetch", "--quiet", str(folder), f"+HEAD:{REF_PREFIX}{side}"], repo)
    return folder, Rebuilt(ran=len(ran), kept=len(kept) + len(restored), seconds=seconds)


def compare(base: str, head: str = "HEAD", *, settings=(), repo=".", out_dir=None) -> Path:
    """Rebuild ``base`` and ``head`` with the same ``settings`` and write the report; return its path."""
    from .reporting.report import build_report
    from .stages.report import experiment_names, scorer_names

    repo = Path(_git(["rev-parse", "--show-toplevel"], repo, what=f"{repo}: not in a git repository"))
    out_dir = Path(out_dir) if out_dir is not None else repo / OUT_DIR
    shas = {"base": resolve(base, repo), "head": resolve(head, repo)}
    cache = _dvc(["cache", "dir"], repo).strip()
    with tempfile.TemporaryDirectory(prefix="ganpipe-compare-") as tmp:
        built = {side: rebuild(sha, side, repo=repo, cache=cache, settings=list(settings), workdir=Path(tmp))
                 for side, sha in shas.items()}
        folders = {side: folder for side, (folder, _) in built.items()}
        # the head side's reports (pictures, quality files) move next to the report that links them
        shutil.rmtree(out_dir, ignore_errors=True)
        shutil.copytree(folders["head"] / "reports", out_dir / "head", ignore=shutil.ignore_patterns("compare"))
        names = experiment_names(folders["head"] / "params.yaml")
        scorers = scorer_names(folders["head"] / "params.yaml")
    overrides = " ".join(f"-S {s}" for s in settings)
    how = (f"each run from its own commit with `dvc exp run{' ' + overrides if overrides else ''}` on this "
           f"machine, one after the other (base: {built['base'][1]}; head: {built['head'][1]}; a stage "
           "whose dvc.lock entry still matched kept its outputs from the DVC cache)")
    text = build_report(base=REF_PREFIX + "base", head=REF_PREFIX + "head", reports_dir=out_dir / "head",
                        names=names, out_dir=out_dir, repo_dir=repo, scorers=scorers,
                        labels={"base": f"{base} ({shas['base'][:7]})", "head": f"{head} ({shas['head'][:7]})",
                                "how": how})
    path = out_dir / "report.md"
    write_text_atomic(path, text)
    return path
