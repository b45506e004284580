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


def _code(code: str, score: float, rank: int, accepted: bool = True) -> dict:
    return {
        "system": "ICD-10-CM",
        "code": code,
        "description": "",
        "score": score,
        "rank": rank,
        "accepted": accepted,
        "evidence": [],
    }


def test_release_aware_credits_one_refinement_of_a_coarser_gold_code() -> None:
    """Gold R51 (billable before FY2021) and T14.90 (CodiEsp drops the 7th character): the
    best-ranked current-release refinement of each is credited once; exact gold still exact."""
    from evaluation.datasets import GoldCode, LabeledNote

    note = LabeledNote(
        id="n1",
        text="Headache after a fall; hypertension.",
        codes=(
            GoldCode("ICD-10-CM", "R51"),
            GoldCode("ICD-10-CM", "T14.90"),
            GoldCode("ICD-10-CM", "I10"),
        ),
    )
    preds = [
        {
            "id": "n1",
            "codes": [
                _code("R51.9", 0.9, 1),
                _code("R51.0", 0.8, 2),  # a second refinement is not credited again
                _code("I10", 0.7, 3),
                _code("T14.90XA", 0.6, 4),
                _code("E11.9", 0.5, 5),
            ],
        }
    ]
    aware = evaluate(preds, [note], threshold=0.55)
    assert aware["gold_codes_coarser_than_release"] == 2
    assert aware["predictions_credited_to_coarser_gold"] == 2
    m = aware["by_system"]["ICD-10-CM"]
    # relevant at ranks 1, 3, 4: (1/1 + 2/3 + 3/4) / 3
    assert m["ranking"]["map"] == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    assert m["threshold"]["micro_p"] == pytest.approx(3 / 4)
    assert m["threshold"]["micro_r"] == 1.0
    assert "no longer bills" in format_table(aware)

    exact = evaluate(preds, [note], threshold=0.55, release_aware=False)
    assert exact["gold_codes_coarser_than_release"] is None
    assert exact["by_system"]["ICD-10-CM"]["ranking"]["map"] == pytest.approx((1 / 3) / 3)


def test_release_aware_leaves_billable_gold_and_exact_names_alone() -> None:
    """A billable gold code is never matched by prefix (E11.9 is not credited to gold E11.65's
    sibling), and a coarse gold code the list already names exactly is not credited twice."""
    from evaluation.datasets import GoldCode, LabeledNote
    from evaluation.harness import credit_coarse_gold

    gold = {("ICD-10-CM", "E11.65"), ("ICD-10-CM", "R51")}
    codes = [_code("E11.659", 0.9, 1), _code("R51", 0.8, 2), _code("R51.9", 0.7, 3)]
    out, n = credit_coarse_gold(codes, gold, lambda c: c == "R51")
    assert n == 0 and [c["code"] for c in out] == ["E11.659", "R51", "R51.9"]
    assert codes[2]["code"] == "R51.9"  # the input is not modified

    note = LabeledNote(id="n", text="x", codes=(GoldCode("ICD-10-CM", "E11.65"),))
    report = evaluate([{"id": "n", "codes": [_code("E11.659", 0.9, 1)]}], [note])
    assert report["by_system"]["ICD-10-CM"]["ranking"]["map"] == 0.0
