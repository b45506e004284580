"""The harness report: shape, per-system scoring, files written, failure paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import DatasetError, load_synthetic
from evaluation.harness import evaluate, format_table


def _perfect(notes):
    """Predictions equal to the gold codes, all accepted, evidence = gold evidence."""
    out = []
    for n in notes:
        codes = []
        for rank, c in enumerate(n.codes, start=1):
            codes.append(
                {
                    "system": c.system,
                    "code": c.code,
                    "description": "",
                    "score": 0.99,
                    "rank": rank,
                    "accepted": True,
                    "evidence": [
                        {"start": s, "end": e, "text": n.text[s:e]} for s, e in c.evidence
                    ],
                }
            )
        out.append({"id": n.id, "model_version": "test-1", "codes": codes})
    return out


def test_perfect_predictions_score_one(synthetic_dir: Path, tmp_path: Path) -> None:
    gold = load_synthetic(synthetic_dir)
    report = evaluate(_perfect(gold), gold, out_dir=tmp_path / "rep", name="synthetic dev")
    assert report["systems"] == ["ICD-10-CM", "CPT"]
    assert set(report["by_system"]) == {"ICD-10-CM", "CPT", "overall"}
    assert report["gold_codes"] == {"ICD-10-CM": 4, "CPT": 1}
    assert report["model_versions"] == ["test-1"]
    assert report["evidence_spans"] == 5 and report["evidence_spans_invalid"] == 0
    for key, m in report["by_system"].items():
        assert m["ranking"]["map"] == 1.0, key
        assert m["accepted"]["micro_f1"] == 1.0
        assert m["threshold"]["micro_f1"] == 1.0
        assert m["evidence_threshold"]["overlap_f1"] == 1.0
        assert m["evidence_threshold"]["exact_f1"] == 1.0
        assert m["automation"]["automation_rate"] == 1.0
        assert m["distractors_threshold"]["rate"] == 0.0
        assert len(m["calibration"]["bins"]) == 10
    files = report["files"]
    saved = json.loads(Path(files["json"]).read_text())
    assert saved["by_system"]["overall"]["ranking"]["map"] == 1.0
    assert Path(files["json"]).name == "synthetic_dev.json"
    for key in ("reliability_png", "reliability_png_ICD-10-CM", "reliability_png_CPT"):
        assert Path(files[key]).read_bytes()[:4] == b"\x89PNG"
    table = format_table(report)
    assert table.splitlines()[0].startswith("synthetic dev: 2 notes, 0 without prediction")
    assert "MAP" in table.splitlines()[1]
    assert len(table.splitlines()) == 2 + 3


def test_missing_extra_and_foreign_system_predictions(synthetic_dir: Path) -> None:
    gold = load_synthetic(synthetic_dir, split="train")  # syn-1: ICD-10-CM only
    preds = _perfect(gold)
    preds[0]["codes"].append(
        {"system": "CPT", "code": "99213", "score": 0.9, "rank": 3, "accepted": True}
    )
    # a distractor predicted above threshold but not accepted
    preds[0]["codes"].append(
        {"system": "ICD-10-CM", "code": "R07.9", "score": 0.7, "rank": 4, "accepted": False}
    )
    preds.append({"id": "unknown", "codes": []})
    # a misquoted span and one past the end of the note are counted, not fatal
    preds[0]["codes"][0]["evidence"].append({"start": 0, "end": 7, "text": "Patient!"})
    preds[0]["codes"][1]["evidence"].append({"start": 10, "end": 10_000})
    report = evaluate(preds, gold, threshold={"ICD-10-CM": 0.6})
    assert report["evidence_spans"] == 4 and report["evidence_spans_invalid"] == 2
    assert "2 of 4 evidence spans outside the note or misquoted" in format_table(report)
    assert report["systems"] == ["ICD-10-CM"]
    assert report["ignored_predicted_codes"] == 1
    assert report["extra_predictions"] == 1
    assert report["thresholds"] == {"ICD-10-CM": 0.6}
    icd = report["by_system"]["ICD-10-CM"]
    assert icd["distractors_threshold"]["rate"] == 1.0
    assert icd["distractors_accepted"]["rate"] == 0.0
    assert icd["threshold"]["micro_p"] == pytest.approx(2 / 3)
    assert report["by_system"]["overall"] == icd
    assert "files" not in report

    none = evaluate([], gold)
    assert none["missing_predictions"] == 1
    assert none["by_system"]["overall"]["ranking"]["map"] == 0.0
    assert none["threshold_source"] == "default"


@pytest.mark.parametrize(
    ("preds", "message"),
    [
        ([{"codes": []}], r"predictions\[0\]: field 'id'"),
        ([{"id": "a", "codes": None}], "field 'codes' must be a list"),
        ([{"id": "a", "codes": []}, {"id": "a", "codes": []}], "duplicate prediction"),
        (
            [{"id": "a", "codes": [{"system": "CPT", "code": "1", "score": 2, "rank": 1}]}],
            r"predictions\[0\]: codes\[0\]: field 'score'",
        ),
    ],
)
def test_bad_predictions_name_the_field(synthetic_dir: Path, preds, message: str) -> None:
    gold = load_synthetic(synthetic_dir)
    with pytest.raises(DatasetError, match=message):
        evaluate(preds, gold)


def test_empty_gold_is_rejected() -> None:
    with pytest.raises(ValueError, match="gold is empty"):
        evaluate([], [])
