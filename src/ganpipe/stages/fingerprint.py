"""Stage fingerprint: one fingerprint of the ganpipe source per stage module -> fingerprints/<name>.txt.

Each stage depends on its module's fingerprint (ganpipe.codedeps: the files the module imports,
transitively, with the SHA-256 of each), not on the files: an edit reruns exactly the stages whose
code it changes, and dvc.lock records one entry per stage instead of one per file.
"""

from __future__ import annotations

from . import _entry

SELF = "ganpipe.stages.fingerprint"  # no stage runs this one's code: it gets no fingerprint


def write_fingerprints(out) -> list[str]:
    """Write ``<out>/<name>.txt`` for every stage module but this one (the folder replaced as a whole); return the names."""
    from ..codedeps import fingerprint, stage_modules
    from ..fileio import atomic_dir

    modules = [m for m in stage_modules() if m != SELF]
    with atomic_dir(out) as tmp:
        for module in modules:
            (tmp / f"{module.rpartition('.')[2]}.txt").write_text(fingerprint(module), encoding="utf-8")
    return [m.rpartition(".")[2] for m in modules]


def main(argv=None) -> int:
    p = _entry.parser("python -m ganpipe.stages.fingerprint", __doc__)
    p.add_argument("--out", default="fingerprints", help="output folder")

    def body(args):
        names = write_fingerprints(args.out)
        print(f"fingerprint: the code of {len(names)} stage modules -> {args.out}")

    return _entry.run(body, p.parse_args(argv))


if __name__ == "__main__":
    _entry.exit_stage(main())
