"""`dvc plots show`: every run declares its plots, and the page draws in a real browser with no network.

The browser test trains the 1-D GAN for a few steps through DVC (its stages need no scorer), writes
the page with the repository's .dvc/config and .dvc/plots/offline.html, and opens it in Debian's
headless Chromium with every network request sent to a dead proxy. Chromium's --dump-dom gives the
DOM after the scripts ran: each chart's div must hold the canvas or svg that Vega draws its marks on
(class "marks"; Vega-Embed's menu icon is an svg too, so a bare svg proves nothing), and a small
script appended to a copy of the page marks every <img> with whether it decoded. DVC's own page,
which loads Vega from a CDN, must draw nothing in the same browser: the check can fail.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dvc_render.html import PAGE_HTML  # DVC's own page: Vega, Vega-Lite and Vega-Embed from a CDN

from .conftest import DVC, REPO, dvc_project, real_params, sh, shrunk_params

TEMPLATE = REPO / ".dvc" / "plots" / "offline.html"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# run on window load (after every <img> loaded or failed): record each picture's state in the DOM
IMAGE_PROBE = """<img id="probe-control" src="no-such-picture.png">
<script>
window.addEventListener("load", () => {
  for (const img of document.images) img.dataset.decoded = String(img.complete && img.naturalWidth > 0);
  document.body.dataset.probed = "true";
});
</script>
"""


def make_project(root: Path, params: dict) -> tuple[dict, list[str]]:
    """A clone-like copy with ``params`` and what a clone gets of .dvc/ (the offline plots page), committed."""
    return dvc_project(root, params, plots_config=True), DVC


def test_every_run_declares_its_plots(tmp_path):
    """A run added with `+runs.<name>` gets its DVCLive folder, loss and accuracy plots; none is hand-written."""
    from dvc.repo import Repo

    params = real_params()
    # what `dvc exp run -S '+runs.dense_small={data: data/mnist, scorer: models/judge}'` sets
    params["runs"]["dense_small"] = {"data": "data/mnist", "scorer": "models/judge"}
    make_project(tmp_path / "proj", params)
    with Repo(str(tmp_path / "proj")) as repo:
        declared = {(out.stage.name, out.def_path): out.plot for out in repo.index.plots}
        top_level = repo.index._plots
    assert not any("reports/" in str(defs) for defs in top_level.values()), top_level  # no run named by hand
    for run in params["runs"]:
        assert declared.get((f"train@{run}", f"reports/{run}/plots")) == {"x": "step"}, (run, sorted(declared))
        for picture in ("loss.png", "accuracy.png"):
            assert (f"plots@{run}", f"reports/{run}/{picture}") in declared, (run, picture, sorted(declared))
    for run in params["evaluate"]["runs"]:
        assert (f"evaluate@{run}", f"reports/{run}/memorisation.png") in declared
    for run in params["evaluate_gauss1d"]["runs"]:
        assert (f"evaluate_gauss1d@{run}", f"reports/{run}/histogram.png") in declared


def test_offline_template_loads_nothing():
    """The configured page template inlines Vega, Vega-Lite and Vega-Embed and fetches no script or style."""
    config = (REPO / ".dvc" / "config").read_text()
    assert re.search(r"html_template\s*=\s*plots/offline\.html", config), config
    page = TEMPLATE.read_text(encoding="utf-8")
    assert "{plot_divs}" in page and "{scripts}" not in page  # no {scripts}: DVC's CDN tags go nowhere
    assert '<meta charset="utf-8">' in page[:200]  # the inlined libraries are UTF-8
    fetched = parse(page).links  # script bodies are not markup to the parser: "<img src=" in JS fetches nothing
    assert fetched == [], fetched
    for library in ("vega@5.", "vega-lite@5.", "vega-embed@6."):
        assert f"/*! {library}" in page, library
    notice = page[:page.index("<script")]
    for licence in ("BSD-3-Clause", "University of Washington Interactive Data Lab", "Mike Bostock"):
        assert licence in notice, licence


class _Page(HTMLParser):
    """A page's charts (ids of the divs whose script calls vegaEmbed), which of them hold a canvas or svg of
    class "marks" (what Vega draws on), its <img> and every src/href outside scripts."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str | None]] = []
        self.drawn: dict[str, bool] = {}
        self.images: list[dict] = []
        self.body: dict = {}
        self.links: list[tuple[str, str]] = []  # (tag, src or href)
        self.charts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        if tag == "img":
            self.images.append(attrs)
        self.links += [(tag, attrs[key]) for key in ("src", "href") if attrs.get(key)]
        if tag in ("canvas", "svg") and "marks" in (attrs.get("class") or "").split():
            for _, element_id in self.stack:
                if element_id:
                    self.drawn[element_id] = True
        if tag not in VOID:
            self.stack.append((tag, attrs.get("id")))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "script" and "vegaEmbed(" in data:
            self.charts += [element_id for _, element_id in self.stack[-2::-1] if element_id][:1]

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break


def render(html: Path, profile: Path) -> _Page:
    """The DOM of ``html`` after its scripts ran in headless Chromium, with all network refused."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",  # every request, localhost too: refused
         f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "</html>" in proc.stdout, \
        f"chromium failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return parse(proc.stdout)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@pytest.mark.slow  # ~1 min: three small stages of the 1-D GAN, two dvc plots show, two browser runs
@pytest.mark.skipif(CHROMIUM is None,
                    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
def test_plots_draw_offline_in_a_browser(tmp_path):
    # curves every 2 steps, the 1-D quality curve (KS distance, live and EMA), fixed and fresh grids
    params = shrunk_params("gauss1d", epochs=6, batch_size=8, fresh_sample_interval=3, eval_interval=2,
                           eval_samples=200, ema_half_life=16)
    params["runs"] = {"gauss1d": params["runs"]["gauss1d"]}
    params["prepare_gauss1d"]["count"] = 2000
    params["evaluate_gauss1d"]["samples"] = 200
    root = tmp_path / "proj"
    env, dvc = make_project(root, params)
    # the 1-D run's own stages only: its scorer is the target in data/gauss1d's manifest
    sh(dvc + ["repro", "--single-item", "prepare_gauss1d", "train@gauss1d", "plots@gauss1d",
              "evaluate_gauss1d@gauss1d"], root, env)
    quality = sorted(p.name for p in (root / "reports/gauss1d/plots/metrics/quality").glob("*.tsv"))
    assert quality == ["ks_distance_ema.tsv", "ks_distance_live.tsv"], quality
    assert sorted(p.name for p in (root / "reports/gauss1d/plots/images/fresh").glob("*.png"))

    sh(dvc + ["plots", "show", "-o", "out"], root, env)
    index = (root / "out" / "index.html").read_text(encoding="utf-8")
    written = parse(index)
    charts = written.charts
    for name in ("d_loss", "g_loss", "d_acc", "ks_distance_live", "ks_distance_ema"):
        assert any(chart.endswith(f"_{name}_tsv") for chart in charts), (name, charts)
    pictures = [img["src"] for img in written.images]
    for kind in ("samples", "fresh"):
        assert any(f"plots_images_{kind}_" in src for src in pictures), (kind, pictures)
    for name in ("loss", "accuracy", "histogram"):
        assert any(src.endswith(f"reports_gauss1d_{name}.png") for src in pictures), (name, pictures)

    probe = root / "out" / "probe.html"  # the page as written, plus IMAGE_PROBE at the end of its body
    head, _, tail = index.rpartition("</body>")  # rpartition: the inlined scripts contain "</body>" in strings
    probe.write_text(head + IMAGE_PROBE + "</body>" + tail, encoding="utf-8")
    page = render(probe, tmp_path / "profile")
    undrawn = [chart for chart in charts if not page.drawn.get(chart)]
    assert not undrawn, f"{len(undrawn)} of {len(charts)} charts drew nothing offline: {undrawn}"
    assert page.body.get("data-probed") == "true", "the page's load event never fired"
    control = [img for img in page.images if img.get("id") == "probe-control"]
    assert [img.get("data-decoded") for img in control] == ["false"], control  # the probe sees a broken picture
    shown = [img for img in page.images if img.get("id") != "probe-control"]
    assert len(shown) == len(pictures)
    broken = [img.get("src") for img in shown if img.get("data-decoded") != "true"]
    assert not broken, f"pictures that did not load: {broken}"

    # DVC's own page (Vega from a CDN) in the same offline browser: no chart may draw
    default = tmp_path / "dvc_default.html"
    default.write_text(PAGE_HTML, encoding="utf-8")
    sh(dvc + ["plots", "show", "-o", "out_cdn", "--html-template", str(default)], root, env)
    cdn_index = root / "out_cdn" / "index.html"
    assert "cdn.jsdelivr.net" in cdn_index.read_text(encoding="utf-8")
    cdn_page = render(cdn_index, tmp_path / "profile_cdn")
    cdn_charts = parse(cdn_index.read_text(encoding="utf-8")).charts
    assert cdn_charts == charts and not any(cdn_page.drawn.get(chart) for chart in cdn_charts)
