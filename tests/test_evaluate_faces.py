"""Scoring anime-face GANs: the face feature extractor, animeface detections, and the stages."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from ganpipe.config import FaceFeaturesConfig, PreparePicturesConfig
from ganpipe.data import anime_demo
from ganpipe.data.faces import extract_faces, write_faces
from ganpipe.evaluation import metrics
from ganpipe.evaluation.face_features import face_features, feature_width, train_face_features
from ganpipe.evaluation.faces import HEADLINE, detected_share, detected_shares, evaluate_faces, split_real, to_uint8
from ganpipe.stages import evaluate_faces as evaluate_faces_stage
from ganpipe.stages import face_features as face_features_stage

from .conftest import REPO


@pytest.fixture(scope="module")
def real_faces(tmp_path_factory) -> np.ndarray:
    """64x64 faces that animeface cut from 40 demo scenes: real data as prepare_pictures makes it."""
    raw = tmp_path_factory.mktemp("demo") / "raw"
    anime_demo.make_demo(raw, 40, seed=11)
    cfg = PreparePicturesConfig(raw_dir=str(raw), detect=True, threshold=0.95,
                             margin=0.15, image_size=64, min_face_size=32)
    faces, _ = extract_faces(cfg.raw_dir, cfg)
    assert len(faces) >= 30
    return faces


@pytest.fixture(scope="module")
def extractor(real_faces):
    model, mse = train_face_features(real_faces, epochs=3, batch_size=16, feature_dim=16, seed=0)
    assert np.isfinite(mse)
    return model


def test_animeface_finds_real_crops_and_not_noise(real_faces):
    assert detected_share(real_faces[:20], threshold=0.95) >= 0.9
    noise = np.random.default_rng(0).uniform(-1, 1, size=(10, 64, 64, 3)).astype(np.float32)
    assert detected_share(noise, threshold=0.5) == 0.0
    assert detected_share(np.zeros((5, 64, 64, 3), np.float32), threshold=0.5) == 0.0  # flat gray


def test_the_shares_of_several_sets_come_from_one_map_and_match_each_set_alone(real_faces):
    noise = np.random.default_rng(0).uniform(-1, 1, size=(6, 64, 64, 3)).astype(np.float32)
    sets = [real_faces[:12], noise, real_faces[:0], real_faces[12:20]]
    shares = detected_shares(sets, threshold=0.95)
    assert shares[:2] + shares[3:] == [detected_share(s, threshold=0.95) for s in (sets[0], sets[1], sets[3])]
    assert shares[1] == 0.0 and shares[0] >= 0.9 and np.isnan(shares[2])


def test_float_and_uint8_faces_are_the_same_pictures(real_faces):
    as_float = real_faces.astype(np.float32) / 127.5 - 1.0
    np.testing.assert_array_equal(to_uint8(as_float), real_faces)
    assert detected_share(as_float[:10], threshold=0.95) == detected_share(real_faces[:10], threshold=0.95)


def test_feature_extractor_is_seeded_and_features_have_the_bottleneck_width(real_faces, extractor):
    again, _ = train_face_features(real_faces, epochs=3, batch_size=16, feature_dim=16, seed=0)
    for a, b in zip(extractor.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    feats = face_features(extractor, real_faces, batch_size=7)  # batches must not change anything
    assert feats.shape == (len(real_faces), feature_width(16, len(real_faces))) and feats.dtype == np.float64
    np.testing.assert_allclose(feats, face_features(extractor, real_faces), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="divisible by 8"):
        train_face_features(real_faces[:, :60, :60], epochs=1, batch_size=4, feature_dim=4, seed=0)


def test_face_fid_identical_near_zero_real_low_noise_high(real_faces, extractor):
    feats = face_features(extractor, real_faces)
    assert metrics.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)
    half = len(real_faces) // 2
    noise = np.random.default_rng(1).uniform(-1, 1, size=(half, 64, 64, 3)).astype(np.float32)
    real_vs_real = metrics.frechet_distance(feats[:half], feats[half:2 * half])
    real_vs_noise = metrics.frechet_distance(face_features(extractor, noise), feats[:half])
    assert real_vs_noise > 3 * real_vs_real


def test_evaluate_faces_orders_real_generated_and_untrained(real_faces, extractor):
    """A "generator" that returns real faces scores like the floor; noise scores like the ceiling."""
    copies = real_faces[::-1].astype(np.float32) / 127.5 - 1.0
    noise = np.random.default_rng(2).normal(0, 0.3, size=copies.shape).clip(-1, 1).astype(np.float32)
    r = evaluate_faces(extractor, copies, noise, real_faces, detect_samples=8, threshold=0.95)
    assert r["compared"] == len(real_faces) // 2
    assert r["real"]["detected_share"] >= 0.85 and r["detected_share"] >= 0.85
    assert r["untrained"]["detected_share"] == 0.0
    assert r["untrained"]["face_fid"] > 3 * max(r["face_fid"], r["real"]["face_fid"])
    assert r["untrained"]["face_kid"] > max(r["face_kid"], r["real"]["face_kid"]) + 3 * r["untrained"]["face_kid_std"]
    assert set(r) == {*HEADLINE, "compared", "real", "untrained"}
    assert set(r["real"]) == set(r["untrained"]) == set(HEADLINE)
    for scores in (r, r["real"], r["untrained"]):  # every distance comes with its noise
        assert scores["face_fid_std"] > 0 and scores["face_kid_std"] > 0
    # real faces cover each other (the split-half recall: the diversity floor); noise covers nothing
    assert r["real"]["face_precision"] > 0.5 and r["real"]["face_recall"] > 0.5
    assert r["untrained"]["face_precision"] == 0.0 and r["untrained"]["face_recall"] == 0.0


def test_split_real_gives_disjoint_sets_and_refuses_too_few():
    a, b = split_real(np.arange(10)[:, None], 5)
    assert sorted(np.concatenate([a, b])[:, 0]) == list(range(10))
    with pytest.raises(ValueError, match="12 real faces needed"):
        split_real(np.arange(10)[:, None], 6)


def test_stages_train_extractor_and_score_a_trained_generator(tmp_path, real_faces, capsys):
    """face_features, a few DCGAN steps, evaluate_faces: real files in, quality.json out."""
    from ganpipe.config import EvaluateFacesConfig, TrainConfig, load_section
    from ganpipe.training.run import RunPaths, train_run

    data = tmp_path / "anime"
    write_faces(data, real_faces, {"source": "test", "settings": {"detect": True}})  # anime faces, as animeface found them
    cfg = FaceFeaturesConfig(epochs=1, batch_size=16, feature_dim=8, seed=0)
    result = face_features_stage.make_face_features(cfg, data_dir=data, model_dir=tmp_path / "ff",
                                                     reports_dir=tmp_path / "rep_ff")
    assert result["faces"] == len(real_faces) and result["reconstruction_mse"] > 0
    assert (tmp_path / "ff" / "autoencoder.keras").is_file()
    train_cfg = load_section(REPO / "params.yaml", "train.anime", TrainConfig)
    train_cfg = dataclasses.replace(train_cfg, epochs=2, batch_size=4, history_interval=1, sample_interval=1,
                                    fresh_sample_interval=0, checkpoint_interval=0, eval_interval=0)
    train_run(train_cfg, RunPaths(data=data, models=tmp_path / "m", reports=tmp_path / "r"), progress=False)
    ev = EvaluateFacesConfig(runs={}, samples=12, seed=1, detect_samples=4, threshold=0.95)
    r = evaluate_faces_stage.evaluate_face_run(ev, data_dir=data, features_dir=tmp_path / "ff",
                                               models_dir=tmp_path / "m", reports_dir=tmp_path / "r")
    saved = json.loads((tmp_path / "r" / "quality.json").read_text())
    details = json.loads((tmp_path / "r" / "quality_details.json").read_text())
    assert saved == {key: r[key] for key in HEADLINE}  # DVC metrics: headline only
    assert {**saved, **details} == r and r["compared"] == 12
    assert set(r) == {*HEADLINE, "compared", "real", "untrained"}
    assert 0 <= r["face_precision"] <= 1 and 0 <= r["face_recall"] <= 1 and r["face_fid_std"] > 0
    assert np.isfinite(r["face_fid"]) and r["face_fid"] > 0 and r["detected_share"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert r["real"]["detected_share"] >= 0.75
    assert r["real"]["face_fid"] < r["untrained"]["face_fid"]


def test_evaluate_faces_stage_errors_name_the_missing_file(tmp_path, real_faces, capsys):
    data = tmp_path / "anime"
    write_faces(data, real_faces, {"source": "test"})
    code = evaluate_faces_stage.main(["anime", "--params", str(REPO / "params.yaml"), "--data", str(data),
                                      "--features", str(tmp_path / "nothing"), "--models", str(tmp_path / "nomodel"),
                                      "--reports", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "nomodel" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "quality.json").exists()


def test_a_missing_scorer_names_the_file_and_the_stage_that_makes_it(tmp_path):
    from ganpipe.errors import GanpipeError
    from ganpipe.training.export import load_made_model

    with pytest.raises(GanpipeError, match=r"autoencoder.keras: not found \(run the face_features stage first\)"):
        load_made_model(tmp_path / "autoencoder.keras", "face_features")


def test_pictures_that_are_not_anime_faces_get_no_detected_share(tmp_path, real_faces, extractor):
    """A set prepared with detect: false (icons, photographs) is scored without animeface: its real pictures
    would score 0 as well, so the number would mean nothing."""
    from ganpipe.data.faces import holds_detected_faces
    from ganpipe.evaluation.faces import headline

    write_faces(tmp_path / "any", real_faces, {"settings": {"detect": False}})
    write_faces(tmp_path / "faces", real_faces, {"settings": {"detect": True}})
    assert not holds_detected_faces(tmp_path / "any") and holds_detected_faces(tmp_path / "faces")
    copies = real_faces[::-1].astype(np.float32) / 127.5 - 1.0
    r = evaluate_faces(extractor, copies, copies, real_faces, detect_samples=0, threshold=0.95)
    assert set(r) == {*headline(False), "compared", "real", "untrained"} and "detected_share" not in headline(False)
    assert set(r["real"]) == set(r["untrained"]) == set(headline(False)) and headline(True) == HEADLINE
