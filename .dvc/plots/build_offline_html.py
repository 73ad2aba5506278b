"""Rebuild offline.html, the page template `dvc plots show` fills (.dvc/config: plots.html_template).

DVC's own page loads Vega, Vega-Lite and Vega-Embed from a CDN, so without internet every chart is
empty. offline.html carries the three libraries inline, with the licence texts of everything their
builds bundle in a comment at its top, so the written dvc_plots/index.html draws from file:// with
no network. Only this script needs the network (npm's registry); run it to move to other versions:

    python .dvc/plots/build_offline_html.py            # the pinned versions below
    python .dvc/plots/build_offline_html.py --vega 5.33.1 --vega-lite 5.23.0 --vega-embed 6.29.0

Stay on the majors DVC's templates are written for: its specs use the Vega-Lite v5 schema.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSIONS = {"vega": "5.33.1", "vega-lite": "5.23.0", "vega-embed": "6.29.0"}  # load order: embed needs both
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")  # dvc_render.html.HTML replaces these anywhere

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC Plot</title>
<!--
@NOTICE@
-->
@SCRIPTS@
<style>
    table {
        border-spacing: 15px;
    }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def bundled_packages(node_modules: Path, name: str) -> list[str]:
    """Package names whose code ``name``'s build/<name>.min.js contains, read from its source map."""
    sources = json.loads((node_modules / name / "build" / f"{name}.min.js.map").read_text("utf-8"))["sources"]
    found = set()
    for source in sources:
        if "node_modules/" in source:
            parts = source.rsplit("node_modules/", 1)[1].split("/")
            found.add("/".join(parts[:2]) if parts[0].startswith("@") else parts[0])
        else:  # the package's own src/, or a sibling of the vega monorepo (../../vega-util/build/...)
            first = [p for p in source.split("/") if p not in ("..", ".")][0]
            found.add(first if (node_modules / first / "package.json").is_file() else name)
    return sorted(found)


def licence_text(node_modules: Path, package: str) -> str:
    """The package's LICENSE file; the monorepo's (a sibling package from the same repository) when it ships none."""
    def own(pkg_dir: Path) -> str | None:
        files = sorted(p for p in pkg_dir.iterdir() if re.match(r"(licen[cs]e|copying)", p.name, re.I))
        return files[0].read_text("utf-8").strip() if files else None

    text = own(node_modules / package)
    if text is None:
        repo = json.loads((node_modules / package / "package.json").read_text("utf-8")).get("repository")
        for sibling in sorted(node_modules.iterdir()):
            meta = sibling / "package.json"
            if meta.is_file() and json.loads(meta.read_text("utf-8")).get("repository") == repo:
                text = own(sibling)
                if text:
                    break
    if text is None:
        raise SystemExit(f"{package}: no licence file in the package or its repository's other packages")
    return text


def build(versions: dict[str, str], out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "install", "--prefix", tmp, "--ignore-scripts", "--no-audit", "--no-fund", "--silent"]
                       + [f"{n}@{v}" for n, v in versions.items()], check=True)
        node_modules = Path(tmp) / "node_modules"
        by_text: dict[str, list[str]] = {}
        scripts = []
        for name, version in versions.items():
            js = (node_modules / name / "build" / f"{name}.min.js").read_text("utf-8")
            for bad in ("</script", "<!--", *PLACEHOLDERS):
                if bad in js.lower():
                    raise SystemExit(f"{name}.min.js contains {bad!r}: it cannot be inlined as it is")
            digest = hashlib.sha256(js.encode("utf-8")).hexdigest()
            scripts.append(f"<script>/*! {name}@{version} build/{name}.min.js sha256:{digest} "
                           f"(licences: the comment above) */\n{js}\n</script>")
            for package in bundled_packages(node_modules, name):
                meta = json.loads((node_modules / package / "package.json").read_text("utf-8"))
                label = f"{package} ({meta.get('license', 'see text')})"
                group = by_text.setdefault(licence_text(node_modules, package), [])
                if label not in group:
                    group.append(label)
    notice = [
        "Page template for `dvc plots show` (.dvc/config: plots.html_template), built by",
        ".dvc/plots/build_offline_html.py from the npm packages "
        + ", ".join(f"{n}@{v}" for n, v in versions.items()) + ".",
        "The scripts below are their build/<name>.min.js files, unchanged. They contain code from the",
        "packages listed before each licence text below, which applies to them.",
    ]
    for text, packages in by_text.items():
        notice += ["", "=" * 78, ", ".join(sorted(packages)) + ":", "", text]
    notice_text = "\n".join(notice).replace("-->", "- ->")
    for bad in PLACEHOLDERS:
        if bad in notice_text:
            raise SystemExit(f"a licence text contains {bad!r}")
    page = PAGE.replace("@NOTICE@", notice_text).replace("@SCRIPTS@", "\n".join(scripts))
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_text(page, encoding="utf-8")
    os.replace(tmp_out, out)
    print(f"wrote {out} ({len(page.encode('utf-8')) / 1e6:.2f} MB): " + ", ".join(f"{n}@{v}" for n, v in versions.items()))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, version in VERSIONS.items():
        p.add_argument(f"--{name}", default=version, help=f"npm version (default {version})")
    p.add_argument("--out", type=Path, default=HERE / "offline.html")
    args = p.parse_args(argv)
    build({name: getattr(args, name.replace("-", "_")) for name in VERSIONS}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
