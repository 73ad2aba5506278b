"""Your own pictures as a run: `ganpipe add-run NAME --from-folder PATH --size 32|64`, on pictures no one here drew.

The real pictures are Debian's Tango icon theme (public domain): fetched once with `apt-get download
tango-icon-theme` into ~/.cache/ganpipe-tests/tango (no root needed; .ci/run does it too); the tests that
need them are skipped with the reason if it cannot be had. Its 850 32x32 PNGs hold 215 distinct icons
(the rest are links and copies under other names).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from ganpipe import cli
from ganpipe.config import PreparePicturesConfig, TrainConfig, parse_section
from ganpipe.data.faces import extract_faces, read_faces_bin

from .conftest import DVC, REPO, SHRUNK_TRAIN, TEST_CACHE, dvc_project, fetch_debian_package, sh, tiny_pipeline_params

# DVC 3.67's own use of pygtrie while it builds the index; nothing of ours
pytestmark = pytest.mark.filterwarnings("ignore:_NoneStep.value will soon raise:DeprecationWarning")

TANGO_32 = "usr/share/icons/Tango/32x32"
ICONS_32 = PreparePicturesConfig(raw_dir="unused", detect=False, threshold=0.95, margin=0.15, image_size=32,
                                 min_face_size=32)
ICON_STAGES = {"prepare_pictures@icons", "face_features@icons", "train@icons", "evaluate_faces@icons", "plots@icons"}


@pytest.fixture(scope="session")
def tango_icons() -> Path:
    try:
        return fetch_debian_package("tango-icon-theme", TEST_CACHE / "tango") / TANGO_32
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"Debian's tango-icon-theme (real icons) is not available: {exc}")


def project_files(tmp_path: Path) -> Path:
    """params.yaml, dvc.yaml and experiments.yaml of the repository in ``tmp_path``; returns its params.yaml."""
    for name in ("params.yaml", "dvc.yaml", "experiments.yaml"):
        (tmp_path / name).write_text((REPO / name).read_text())
    return tmp_path / "params.yaml"


def some_pictures(folder: Path, count: int = 3, side: int = 40) -> Path:
    folder.mkdir(parents=True)
    for i in range(count):
        Image.new("RGB", (side, side + 8), (40 * i, 100, 200)).save(folder / f"p{i}.png")
    return folder


# ---- the command: what it writes, and what it refuses ----------------------------------------------

def test_add_run_from_folder_writes_the_set_the_run_and_what_follows(tmp_path, capsys):
    params = project_files(tmp_path)
    pictures = some_pictures(tmp_path / "mine" / "pictures")
    before = {name: (tmp_path / name).read_text() for name in ("params.yaml", "dvc.yaml")}
    assert cli.main(["add-run", "mine", "--from-folder", str(pictures), "--size", "32", "--params", str(params),
                     "--catalogue", str(tmp_path / "experiments.yaml")]) == 0
    assert "prepare_pictures.mine: mine/pictures, detect false, 32x32" in capsys.readouterr().out
    p, d = yaml.safe_load(params.read_text()), yaml.safe_load((tmp_path / "dvc.yaml").read_text())
    template = yaml.safe_load((REPO / "experiments.yaml").read_text())["templates"]["pictures32"]
    assert p["prepare_pictures"]["mine"] == {**template["prepare_pictures"], "raw_dir": "mine/pictures", "detect": False}
    assert p["train"]["mine"] == template["train"] and p["train"]["mine"]["arch"] == "dcgan32"
    assert p["runs"]["mine"] == {"data": "data/mine", "scorer": "models/mine_features"}
    assert p["evaluate_faces"]["runs"]["mine"] == p["runs"]["mine"]
    assert d["artifacts"]["mine"]["path"] == "models/mine" and "reports/mine/timing.json" in d["metrics"]
    assert {"reports/mine/quality.json", "reports/mine/faces.json",
            "reports/mine_features/metrics.json"} <= set(d["stages"]["report"]["deps"])
    # every line that was there is there still (comments included), and `ganpipe sync` has nothing left to do
    for name, text in before.items():
        lines = (tmp_path / name).read_text().splitlines()
        assert [line for line in text.splitlines() if line not in lines] == [], name
    assert cli.main(["sync", "--check", "--params", str(params), "--pipeline", str(tmp_path / "dvc.yaml")]) == 0
    parse_section(p["train"]["mine"], TrainConfig, source="params.yaml", section="train.mine")


@pytest.mark.parametrize("args, message", [
    (["nowhere", "--size", "32"], "ganpipe: error: {tmp}/nowhere: picture folder not found"),
    (["junk", "--size", "32"], "ganpipe: error: {tmp}/junk: no readable picture of at least 32 px a side in 2 file(s)"),
    (["ok", "--size", "48"], "ganpipe: error: --size: expected 32 or 64, got 48"),
    (["ok", "--name", "anime"], "ganpipe: error: {tmp}/params.yaml: runs.anime exists already (choose another name)"),
    (["ok", "--name", "judge"], "ganpipe: error: {tmp}/params.yaml: run name 'judge': models/judge is written by a "
                                "stage already (choose another name)"),
    (["ok", "--name", "mnist2", "--data", "data/mnist"], "ganpipe: error: --data: not with --from-folder"),
])
def test_add_run_from_folder_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, capsys, args, message):
    params = project_files(tmp_path)
    some_pictures(tmp_path / "ok")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("no picture")
    Image.new("RGB", (16, 16)).save(tmp_path / "junk" / "tiny.png")  # readable, but smaller than 32x32
    before = {p: p.read_text() for p in tmp_path.glob("*.yaml")}
    folder, *rest = args
    name = rest.pop(rest.index("--name") + 1) if "--name" in rest else "mine"
    rest = [r for r in rest if r != "--name"]
    code = cli.main(["add-run", name, "--from-folder", str(tmp_path / folder), *rest, "--params", str(params),
                     "--catalogue", str(tmp_path / "experiments.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.strip().split(" (")[0] == message.format(tmp=tmp_path).split(" (")[0], err
    assert {p: p.read_text() for p in tmp_path.glob("*.yaml")} == before


@pytest.mark.parametrize("file, cut, message", [
    ("params.yaml", "runs", "{tmp}/params.yaml: expected a mapping 'runs' at the top level"),
    ("experiments.yaml", "min_face_size", "{tmp}/experiments.yaml: templates.pictures32.prepare_pictures.min_face_size: "
                                          "expected a whole number of pixels"),
])
def test_add_run_from_folder_refuses_damaged_files_in_one_line(tmp_path, capsys, file, cut, message):
    """A params.yaml without one of the sections it writes, a catalogue template without its size floor."""
    import yaml

    params = project_files(tmp_path)
    some_pictures(tmp_path / "ok")
    doc = yaml.safe_load((tmp_path / file).read_text())
    if cut == "runs":
        del doc["runs"]
    else:
        del doc["templates"]["pictures32"]["prepare_pictures"]["min_face_size"]
    (tmp_path / file).write_text(yaml.safe_dump(doc, sort_keys=False))
    before = {p: p.read_text() for p in tmp_path.glob("*.yaml")}
    code = cli.main(["add-run", "mine", "--from-folder", str(tmp_path / "ok"), "--size", "32", "--params", str(params),
                     "--catalogue", str(tmp_path / "experiments.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and err == f"ganpipe: error: {message.format(tmp=tmp_path)}\n", err
    assert {p: p.read_text() for p in tmp_path.glob("*.yaml")} == before


def test_an_added_picture_set_reaches_only_its_own_stages(tmp_path):
    """The new set's prepare stage feeds its scorer, its run, the run's evaluation and plots, and the report;
    every stage that was there keeps its command, dependencies, params and outputs (nothing else reruns)."""
    from dvc.repo import Repo

    from .test_dvc_deps import downstream_of

    def definitions(root):
        with Repo(str(root)) as repo:
            return {s.name: (s.cmd, sorted(str(d.def_path) for d in s.deps), sorted(map(str, s.outs)))
                    for s in repo.index.stages}

    params = project_files(tmp_path)
    (tmp_path / ".dvc").mkdir()  # a DVC project without git: enough for its stage graph
    (tmp_path / ".dvc" / "config").write_text("[core]\n    no_scm = true\n")
    pictures = some_pictures(tmp_path / "mine")
    assert cli.main(["add-run", "icons", "--from-folder", str(pictures), "--size", "32", "--params", str(params),
                     "--catalogue", str(tmp_path / "experiments.yaml")]) == 0
    assert downstream_of("prepare_pictures@icons", tmp_path) == ICON_STAGES - {"prepare_pictures@icons"} | {"report"}
    old, new = definitions(REPO), definitions(tmp_path)
    assert set(new) - set(old) == ICON_STAGES
    assert [name for name in old if name != "report" and old[name] != new[name]] == []


# ---- the picture scorer on real pictures no one here drew --------------------------------------------

@pytest.fixture(scope="module")
def icon_halves(tango_icons):
    icons, manifest = extract_faces(tango_icons, dataclasses.replace(ICONS_32, raw_dir=str(tango_icons)))
    assert icons.shape[1:] == (32, 32, 3) and len(icons) >= 200 and manifest["counts"]["duplicates_dropped"] > 0
    order = np.random.default_rng(0).permutation(len(icons))
    half = len(icons) // 2
    return icons[order[:half]], icons[order[half:2 * half]]


def test_the_picture_scorer_of_32x32_icons_sees_blur_and_blobs(icon_halves):
    """docs/quality.md's icon check at 32x32: a scorer trained on half of the icons puts the other half at its
    floor, rising blur above it, and the blobs a 100-step generator draws (each icon shrunk to 4x4 and blown
    up again) far above it."""
    from ganpipe.evaluation import corruptions, metrics
    from ganpipe.evaluation.face_features import face_features, train_face_features
    from ganpipe.evaluation.faces import to_uint8

    train, held = icon_halves
    model, _ = train_face_features(train, epochs=6, batch_size=16, feature_dim=16, seed=0)
    reference = face_features(model, train)

    def fid(images):
        return metrics.frechet_distance(face_features(model, images), reference)

    floor = fid(held)
    blur = corruptions.GRADED["blur"][0]
    blurred = [fid(to_uint8(blur(held.astype(np.float32) / 127.5 - 1.0, level, seed=1))) for level in (1.0, 2.0)]
    blobs = np.stack([np.asarray(Image.fromarray(icon).resize((4, 4), Image.BILINEAR).resize((32, 32), Image.BILINEAR))
                      for icon in held])
    assert floor < blurred[0] < blurred[1], (floor, blurred)
    assert fid(blobs) > 3 * floor, (fid(blobs), floor)


# ---- the whole way, from the command to the report ---------------------------------------------------

@pytest.mark.slow  # five stages of TensorFlow in a DVC project: about 2 minutes on 2 cores
def test_a_folder_of_icons_becomes_a_run_that_is_trained_scored_and_reported(tmp_path, tango_icons):
    root = tmp_path / "proj"
    params = tiny_pipeline_params(xla=False)
    params["evaluate_faces"]["samples"] = 100
    env = dvc_project(root, params)
    sh([sys.executable, "-m", "ganpipe.cli", "add-run", "icons", "--from-folder", tango_icons, "--size", "32",
        "--catalogue", REPO / "experiments.yaml"], root, env)
    added = yaml.safe_load((root / "params.yaml").read_text())
    added["train"]["icons"].update(SHRUNK_TRAIN, epochs=20, xla=False, precision="float32")
    (root / "params.yaml").write_text(yaml.safe_dump(added, sort_keys=False))
    sh(["git", "add", "-A"], root, env)
    sh(["git", "commit", "-qm", "icons"], root, env)
    out = sh(DVC + ["repro", "evaluate_faces@icons", "plots@icons"], root, env, timeout=1200)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage '")}
    assert ran == ICON_STAGES | {"fingerprint"}, out  # a new project: the code's fingerprints are written first

    icons = read_faces_bin(root / "data" / "icons" / "faces.bin")
    counts = json.loads((root / "reports" / "icons" / "faces.json").read_text())
    assert icons.dtype == np.uint8 and icons.shape[1:] == (32, 32, 3) and len(icons) == counts["faces"] >= 200
    assert counts["pictures"] - counts["pictures_skipped"] == len(icons) + counts["duplicates_dropped"] > len(icons)
    assert len({icon.tobytes() for icon in icons}) == len(icons), "identical crops are kept once"
    quality = json.loads((root / "reports" / "icons" / "quality.json").read_text())
    details = json.loads((root / "reports" / "icons" / "quality_details.json").read_text())
    assert {"face_fid", "face_fid_std", "face_kid", "face_kid_std"} <= set(quality) and quality["face_fid_std"] > 0
    assert not [k for k in {**quality, **details["real"]} if k.startswith("detected_share")]
    assert details["real"]["face_fid"] < quality["face_fid"] < details["untrained"]["face_fid"]
    sh([sys.executable, "-m", "ganpipe.cli", "report"], root, env)
    report = (root / "reports" / "report.md").read_text()
    assert "### icons" in report and "| face_fid |" in report and "Pictures of the set `icons`" in report
    assert "Data and pipelines are up to date" in sh(DVC + ["status", *ICON_STAGES], root, env)
