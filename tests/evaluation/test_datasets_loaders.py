"""Loaders of the synthetic corpus, CodiEsp and prediction files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.datasets import (
    DatasetError,
    GoldCode,
    load_codiesp,
    load_codiesp_dir,
    load_predictions,
    load_synthetic,
)
from tests.evaluation.conftest import (
    CODIESP_TEXT_1,
    CODIESP_TEXT_2,
    synthetic_records,
    write_jsonl,
)


def test_load_synthetic_file_and_splits(synthetic_dir: Path) -> None:
    notes = load_synthetic(synthetic_dir)
    assert [n.id for n in notes] == ["syn-1", "syn-2"]
    assert [n.id for n in load_synthetic(synthetic_dir, split="dev")] == ["syn-2"]
    assert len(load_synthetic(synthetic_dir / "test.jsonl")) == 2
    a = notes[0]
    assert a.meta["setting"] == "outpatient"
    assert a.codes[0] == GoldCode("ICD-10-CM", "E11.9", ((13, 37),))
    for n in notes:
        for c in n.codes:
            for s, e in c.evidence:
                assert 0 <= s < e <= len(n.text)
    assert a.text[slice(*a.codes[0].evidence[0])] == "type 2 diabetes mellitus"
    # an ICD-10-CM code written without its dot gains it
    assert ("ICD-10-CM", "J45.909") in notes[1].gold_set()
    assert notes[1].gold_set("CPT") == {("CPT", "99213")}
    assert notes[1].distractors[0].reason == "family_history"
    assert notes[1].distractors[0].code == "C18.9"


def test_notes_name_their_source_corpus(tmp_path: Path) -> None:
    # a generated note names its template; a user's JSONL may name its corpus in meta, or none
    base = {"text": "Essential hypertension.", "codes": []}
    records = [
        {**base, "id": "a", "template": "t1"},
        {**base, "id": "b", "template": "t1", "meta": {"corpus": "clinic-7"}},
        {**base, "id": "c"},
    ]
    write_jsonl(tmp_path / "notes.jsonl", records)
    notes = load_synthetic(tmp_path / "notes.jsonl")
    assert [(n.source, n.group) for n in notes] == [
        ("synthetic", "template:t1"), ("clinic-7", "template:t1"), (None, None)
    ]  # fmt: skip


def test_load_synthetic_rejects_bad_split(synthetic_dir: Path) -> None:
    with pytest.raises(DatasetError, match="split must be one of"):
        load_synthetic(synthetic_dir, split="validation")
    with pytest.raises(DatasetError, match="needs a directory"):
        load_synthetic(synthetic_dir / "dev.jsonl", split="dev")
    with pytest.raises(DatasetError, match="not found"):
        load_synthetic(synthetic_dir / "missing.jsonl")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("id"), "field 'id'"),
        (lambda r: r.__setitem__("codes", {"a": 1}), "field 'codes' must be a list"),
        (lambda r: r["codes"][0].pop("system"), r"codes\[0\]: field 'system'"),
        (
            lambda r: r["codes"][0].__setitem__("evidence", [{"start": 5, "end": 2}]),
            r"codes\[0\]: evidence\[0\] needs integers",
        ),
        (
            lambda r: r["codes"][0].__setitem__("evidence", [{"start": 0, "end": 10_000}]),
            "lies outside a text",
        ),
        (lambda r: r["distractors"][0].pop("code"), r"distractors\[0\]: field 'code'"),
    ],
)
def test_load_synthetic_bad_record_names_line_and_field(
    tmp_path: Path, mutate, message: str
) -> None:
    recs = synthetic_records()
    mutate(recs[0])
    path = write_jsonl(tmp_path / "bad.jsonl", recs)
    with pytest.raises(DatasetError, match=message) as info:
        load_synthetic(path)
    assert "bad.jsonl:1" in str(info.value)


def test_load_synthetic_rejects_invalid_json_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(json.dumps(synthetic_records()[0]) + "\n{not json\n")
    with pytest.raises(DatasetError, match="broken.jsonl:2: not valid JSON"):
        load_synthetic(path)
    recs = synthetic_records()
    dup = write_jsonl(tmp_path / "dup.jsonl", [recs[0], recs[0]])
    with pytest.raises(DatasetError, match="duplicate note id 'syn-1'"):
        load_synthetic(dup)


def test_load_codiesp_official_layout(codiesp_root: Path) -> None:
    notes = {n.id: n for n in load_codiesp(codiesp_root / "train")}
    assert set(notes) == {"S1", "S2"}
    s1, s2 = notes["S1"], notes["S2"]
    # read whole, exact text (CRLF kept so offsets stay valid)
    assert s1.text == CODIESP_TEXT_1
    assert s2.text == CODIESP_TEXT_2
    # uppercase, with dot, duplicates dropped, file order kept
    assert [c.code for c in s1.codes] == ["R50.9", "N50.82"]
    assert {c.system for c in s1.codes} == {"ICD-10-CM"}
    n50 = next(c for c in s1.codes if c.code == "N50.82")
    assert s1.text[slice(*n50.evidence[0])] == "He had testicular pain."
    # PCS codes kept apart and never among the scored codes
    assert s1.pcs_codes == ("BW03ZZZ",)
    assert all(c.code != "BW03ZZZ" for c in s1.codes)
    # repeated ranges are kept once
    assert s2.codes[0].evidence == ((0, 24),)
    assert s2.meta == {"corpus": "codiesp", "split": "train"}
    assert {n.source for n in notes.values()} == {"codiesp"}


def test_load_codiesp_dir_and_errors(codiesp_root: Path, tmp_path: Path) -> None:
    assert len(load_codiesp_dir(codiesp_root, splits=("train",))) == 2
    with pytest.raises(DatasetError, match="split 'dev' not found"):
        load_codiesp_dir(codiesp_root)
    with pytest.raises(DatasetError, match="no text_files_en"):
        load_codiesp(tmp_path)
    # a code row for a case without text is an error naming the file
    d = codiesp_root / "train" / "trainD.tsv"
    d.write_text(d.read_text() + "S9\ti10\n")
    with pytest.raises(DatasetError, match=r"trainD.tsv: 1 case id\(s\) have no English text"):
        load_codiesp(codiesp_root / "train")


def test_load_codiesp_real_train_split(real_codiesp: Path) -> None:
    notes = load_codiesp(real_codiesp / "train")
    assert len(notes) == 500
    n_codes = sum(len(n.codes) for n in notes)
    assert n_codes == 5639
    with_ev = sum(1 for n in notes for c in n.codes if c.evidence)
    assert with_ev / n_codes > 0.95
    for n in notes:
        assert all(c.system == "ICD-10-CM" and c.code == c.code.upper() for c in n.codes)
        for c in n.codes:
            for s, e in c.evidence:
                assert 0 <= s < e <= len(n.text)
    assert sum(len(n.pcs_codes) for n in notes) > 1000


def _pred_line(**over):
    line = {
        "id": "syn-1",
        "model_version": "m1",
        "codes": [
            {
                "system": "ICD-10-CM",
                "code": "I10",
                "description": "Essential hypertension",
                "score": 0.4,
                "rank": 2,
                "accepted": False,
                "evidence": [{"start": 53, "end": 65, "text": "hypertension"}],
            },
            {
                "system": "ICD-10-CM",
                "code": "e119",
                "description": "T2DM",
                "score": 0.9,
                "rank": 1,
                "accepted": True,
                "evidence": [],
            },
        ],
    }
    line.update(over)
    return line


def test_load_predictions_sorts_and_normalises(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "pred.jsonl", [_pred_line()])
    (pred,) = load_predictions(path)
    assert pred["model_version"] == "m1"
    assert [c["code"] for c in pred["codes"]] == ["E11.9", "I10"]
    assert pred["codes"][1]["evidence"] == [{"start": 53, "end": 65}]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score", 1.5, "field 'score' must be a number in"),
        ("rank", 0, "field 'rank' must be an integer"),
        ("accepted", "yes", "field 'accepted' must be true or false"),
        ("system", None, "field 'system'"),
    ],
)
def test_load_predictions_bad_code_names_field(
    tmp_path: Path, field: str, value, message: str
) -> None:
    line = _pred_line()
    line["codes"][0][field] = value
    path = write_jsonl(tmp_path / "pred.jsonl", [line])
    with pytest.raises(DatasetError, match=message) as info:
        load_predictions(path)
    assert r"pred.jsonl:1: codes[0]" in str(info.value)


def test_load_predictions_duplicate_id(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "pred.jsonl", [_pred_line(), _pred_line()])
    with pytest.raises(DatasetError, match="duplicate prediction for note id 'syn-1'"):
        load_predictions(path)
