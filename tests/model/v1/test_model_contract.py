"""The trained v1 model's output contract, on a real model trained on a small synthetic corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.artifact import ArtifactError, load_suggester, read_manifest
from model.codesets import get_catalog
from model.text.note import Note

NOTE = (
    "CHIEF COMPLAINT: follow-up of blood pressure and diabetes.\n"
    "HPI: 62 yo man with HTN and type 2 diabetes mellitus, here for follow-up. Denies chest pain.\n"
    "Family history: mother had breast cancer.\n"
    "ASSESSMENT AND PLAN:\n"
    "1. Essential hypertension - continue lisinopril.\n"
    "2. Type 2 diabetes mellitus without complications - A1c today.\n"
    "Total time spent 32 minutes. Established patient.\n"
)


@pytest.fixture(scope="module")
def suggester(trained_model_dir: Path):
    return load_suggester(trained_model_dir)


def test_manifest_carries_labels_thresholds_and_code_sets(trained_model_dir: Path) -> None:
    manifest = read_manifest(trained_model_dir)
    assert manifest["version"].startswith("v1-")
    assert set(manifest["accept_thresholds"]) == {"ICD-10-CM", "CPT", "HCPCS"}
    assert "ICD-10-CM" in manifest["code_sets"]
    labels = (trained_model_dir / "labels.tsv").read_text().splitlines()
    assert len(labels) == manifest["labels"]["count"] > 70_000
    assert (trained_model_dir / "evaluation.json").is_file()
    contested = manifest["contested_sibling"]
    assert contested["level"] in (0.1, 0.2, 0.3, 0.5, 1.01)
    assert contested["validation"]["band_pairs"] >= 0
    assert contested["neighbour_level"] in (0.1, 0.2, 0.3, 0.5, 1.01)


def test_artifact_holds_no_note_text(trained_model_dir: Path, synthetic_corpus_dir: Path) -> None:
    first = json.loads((synthetic_corpus_dir / "train.jsonl").open().readline())
    sentence = max(first["text"].split("\n"), key=len)[:60]
    import joblib

    blob = joblib.load(trained_model_dir / "model.joblib")
    assert sentence not in repr(vars(blob))


def test_suggestions_follow_the_contract(suggester) -> None:
    result = suggester.suggest(Note.create(NOTE, id="n1", meta={"setting": "outpatient"}))
    out = result.to_dict()
    assert out["id"] == "n1" and out["model_version"] == suggester.model_version
    codes = out["codes"]
    assert codes, "a note about hypertension and diabetes gets suggestions"
    scores = [c["score"] for c in codes]
    assert scores == sorted(scores, reverse=True)
    assert [c["rank"] for c in codes] == list(range(1, len(codes) + 1))
    catalog = get_catalog()
    for c in codes:
        assert c["system"] in {"ICD-10-CM", "CPT", "HCPCS"}
        entry = catalog.get(c["system"], c["code"])
        assert entry is not None and entry.billable, c["code"]
        assert entry.code == c["code"]  # ICD-10-CM with its dot
        assert 0.0 <= c["score"] <= 1.0
        assert 1 <= len(c["evidence"]) <= 3
        for ev in c["evidence"]:
            assert 0 <= ev["start"] < ev["end"] <= len(NOTE)
            assert NOTE[ev["start"] : ev["end"]] == ev["text"]
    top_icd = [c["code"] for c in codes if c["system"] == "ICD-10-CM"][:5]
    assert "I10" in top_icd


def test_no_excludes1_pair_is_accepted_together(suggester) -> None:
    codes = suggester.suggest(Note.create(NOTE)).codes
    accepted = [c.code for c in codes if c.accepted and c.system == "ICD-10-CM"]
    catalog = get_catalog()
    for i, a in enumerate(accepted):
        for b in accepted[i + 1 :]:
            assert not catalog.excludes1_conflict(a, b), (a, b)


def test_accepted_codes_clear_their_system_threshold(suggester) -> None:
    thresholds = suggester.manifest["accept_thresholds"]
    for c in suggester.suggest(Note.create(NOTE)).codes:
        if c.accepted:
            assert c.score >= thresholds[c.system]


def test_top_k_and_systems_filter(suggester) -> None:
    result = suggester.suggest(Note.create(NOTE), systems=["CPT"], top_k=3)
    assert result.codes and len(result.codes) <= 3
    assert {c.system for c in result.codes} == {"CPT"}


def test_batch_equals_single(suggester) -> None:
    notes = [Note.create(NOTE, id="a"), Note.create("Cough and fever for 3 days.", id="b")]
    batch = suggester.suggest_batch(notes)
    assert [s.to_dict() for s in batch] == [suggester.suggest(n).to_dict() for n in notes]


def test_loading_a_broken_folder_fails_clearly(tmp_path: Path, trained_model_dir: Path) -> None:
    with pytest.raises(ArtifactError, match="manifest.json is missing"):
        load_suggester(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="unreadable"):
        load_suggester(tmp_path)
    manifest = json.loads((trained_model_dir / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "format": "other/9"}))
    with pytest.raises(ArtifactError, match="format"):
        load_suggester(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="model.joblib is missing"):
        load_suggester(tmp_path)
    (tmp_path / "model.joblib").write_bytes(b"truncated")
    with pytest.raises(ArtifactError, match="could not be loaded"):
        load_suggester(tmp_path)


def test_an_artifact_trained_on_another_feature_set_is_refused_clearly(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    """A model folder from an older chartcoder (its ranker saw fewer features) must fail at load
    with a message that says so, not with a shape error at the first request."""
    import shutil

    import joblib

    from model.artifact import StaleArtifactError
    from model.v1.features import FEATURE_NAMES

    old = tmp_path / "old-model"
    shutil.copytree(trained_model_dir, old)
    est = joblib.load(old / "model.joblib")
    est.ranker_.gbm_.n_features_in_ = len(FEATURE_NAMES) - 1  # as an older version wrote it
    joblib.dump(est, old / "model.joblib")
    with pytest.raises(StaleArtifactError, match=r"trained on \d+ features .* retrain") as err:
        load_suggester(old)
    assert isinstance(err.value, ArtifactError)
    assert load_suggester(trained_model_dir).model_version  # the current one loads


def test_calibrate_on_validation_notes_refits_thresholds_and_band(
    trained_model_dir: Path, synthetic_corpus_dir: Path
) -> None:
    from evaluation.datasets import load_synthetic

    est = load_suggester(trained_model_dir)._estimator
    dev = load_synthetic(synthetic_corpus_dir, split="dev")[:40]
    with pytest.raises(ValueError, match="at least one validation note"):
        est.calibrate_on([], [], [], catalog=get_catalog())
    est.calibrate_on(
        [n.text for n in dev],
        [n.meta.get("setting") for n in dev],
        [{(c.system, c.code) for c in n.codes} for n in dev],
        catalog=get_catalog(),
        ages=[n.meta.get("age") for n in dev],
        note_types=[n.meta.get("note_type") for n in dev],
    )
    cal = est.training_stats_["calibration"]
    assert cal["source"] == "validation notes" and cal["notes"] == 40
    assert 0 < cal["positive_pairs"] < cal["pairs"]
    # the validation summary now counts the validation pairs, per system
    counted = sum(v["pairs"] for v in est.ranker_.validation_.values())
    assert counted == cal["pairs"]
    for system, t in est.ranker_.thresholds_.items():
        assert 0.0 <= t <= 1.0, system
    # scores stay calibrated probabilities
    s = est.suggest_note(Note.create(dev[0].text, id="v"), model_version="x")
    assert all(0.0 <= c.score <= 1.0 for c in s.codes)


def test_manifest_records_the_ranker_feature_count_and_a_current_default_is_kept(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    """`ensure_default_model` tells a current model from the manifest alone (serving then loads
    it once) and leaves it as it is."""
    import shutil

    from model.v1.features import FEATURE_NAMES
    from training.default import ensure_default_model

    assert read_manifest(trained_model_dir)["ranker_features"] == len(FEATURE_NAMES)
    default = tmp_path / "models" / "default"
    shutil.copytree(trained_model_dir, default)
    before = (default / "model.joblib").stat().st_mtime_ns
    assert ensure_default_model(default, progress=False) == default
    assert (default / "model.joblib").stat().st_mtime_ns == before
    assert not (tmp_path / "models" / "synthetic-default").exists()  # nothing was trained


def test_fit_refuses_calibration_flags_that_do_not_match_the_notes() -> None:
    from model.v1.model import V1Model

    texts = [f"Hypertension, note {i}." for i in range(8)]
    with pytest.raises(ValueError, match="calibrate has 3 flags for 8 notes"):
        V1Model().fit(
            texts,
            [None] * 8,
            [{("ICD-10-CM", "I10")}] * 8,
            catalog=get_catalog(),
            calibrate=[True, False, True],
        )


def test_manifest_records_the_combination_rules_the_corpus_follows(
    trained_model_dir: Path,
) -> None:
    stats = read_manifest(trained_model_dir)["training"]["stats"]["combination_rules"]
    assert {"E11.22", "I12.9", "I13.0"} <= set(stats)
    for counts in stats.values():
        assert set(counts) == {"combined", "separate"}
        assert all(isinstance(v, int) and v >= 0 for v in counts.values())


def test_manifest_records_the_libraries_the_model_was_trained_with(trained_model_dir: Path) -> None:
    import sklearn

    libraries = read_manifest(trained_model_dir)["libraries"]
    assert libraries["scikit-learn"] == sklearn.__version__
    assert {"python", "numpy", "torch", "chartcoder"} <= set(libraries)


def test_loading_under_other_library_releases_warns_and_names_them(
    trained_model_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    import sklearn

    copy = Path(shutil.copytree(trained_model_dir, tmp_path / "model"))
    manifest = read_manifest(copy)
    manifest["libraries"]["scikit-learn"] = "1.5.0"
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with caplog.at_level("WARNING", logger="model.artifact"):
        suggester = load_suggester(copy)
    assert suggester.model_version == manifest["version"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "scikit-learn 1.5.0" in warning and f"scikit-learn {sklearn.__version__}" in warning
    caplog.clear()
    with caplog.at_level("WARNING", logger="model.artifact"):
        load_suggester(trained_model_dir)  # the releases it was trained with: no warning
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_a_model_calibrated_later_fits_one_ranker_and_suggests_once_calibrated(
    synthetic_corpus_dir: Path,
) -> None:
    """`calibrate_later` skips the cross-fitted rankers whose calibration `calibrate_on` would
    replace: calibrated on the same validation notes, the model is the one fitted without it."""
    from evaluation.datasets import load_synthetic
    from model.v1.model import V1Model
    from training.train import note_columns

    notes = load_synthetic(synthetic_corpus_dir, split="train")[:90]
    dev = load_synthetic(synthetic_corpus_dir, split="dev")[:30]
    texts, settings, labels, extra = note_columns(notes)
    d_texts, d_settings, d_labels, d_extra = note_columns(dev)
    models = []
    for later in (False, True):
        # Every pair kept: both served rankers learn from the same pairs.
        model = V1Model(folds=2, ranker_folds=2, ranker_iter=20, max_ranker_pairs=10**9, seed=3)
        model.fit(texts, settings, labels, catalog=get_catalog(), calibrate_later=later, **extra)
        models.append(model)
    plain, later = models
    assert later.training_stats_["calibration_pairs"] == 0
    assert plain.training_stats_["calibration_pairs"] > 0
    assert later.training_stats_["ranker_pairs"] == plain.training_stats_["ranker_pairs"]
    probe = Note.create(dev[0].text, id="v")
    with pytest.raises(RuntimeError, match="not calibrated: call calibrate_on"):
        later.suggest_note(probe, model_version="t")
    for model in models:
        model.calibrate_on(d_texts, d_settings, d_labels, catalog=get_catalog(), **d_extra)
    assert later.ranker_.thresholds_ == plain.ranker_.thresholds_
    assert later.ranker_.accept_thresholds_ == plain.ranker_.accept_thresholds_
    for n in dev[:3]:
        a, b = (
            m.suggest_note(Note.create(n.text, id=n.id), model_version="t").to_dict()
            for m in models
        )
        assert a == b and a["codes"]
