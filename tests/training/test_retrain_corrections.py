"""Training set construction from reviews: only completed reviews, latest revision, positives and
negatives, the frozen split, and clear errors for unusable records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.corrections import (
    CorrectionsError,
    build_correction_set,
    choose_repeat,
    example_from_record,
    part_of,
    read_jsonl,
    site_only_codes,
    weighted_training_notes,
)


def test_only_reviewed_cases_are_read(retrain_env: Any, db_records: list[dict[str, Any]]) -> None:
    set_ids = {r["suggestion_set_id"] for r in db_records}
    assert set_ids == set(retrain_env.reviewed_sets)
    assert retrain_env.unreviewed_set not in set_ids
    assert all(r["text"] != retrain_env.unreviewed_text for r in db_records)


def test_latest_revision_only(retrain_env: Any, db_records: list[dict[str, Any]]) -> None:
    cset = build_correction_set(db_records)
    assert len(cset.examples) == len(retrain_env.reviewed_sets)
    ex = next(e for e in cset.examples if e.suggestion_set_id == retrain_env.rereviewed_set)
    assert ex.revision == 2
    assert ex.positives == {("ICD-10-CM", "R53.83")}
    # A concatenation of two exports (old revision first) still keeps the latest one.
    older = dict(next(r for r in db_records if r["suggestion_set_id"] == ex.suggestion_set_id))
    older.update(revision=1, review_id=ex.review_id - 100, reviewed_at="2000-01-01T00:00:00")
    again = build_correction_set([*db_records, older])
    assert again.superseded == 1
    kept = next(e for e in again.examples if e.suggestion_set_id == ex.suggestion_set_id)
    assert kept.revision == 2


def test_positives_with_evidence_and_negatives(
    retrain_env: Any, db_records: list[dict[str, Any]]
) -> None:
    cset = build_correction_set(db_records)
    for ex in cset.examples:
        record = next(r for r in db_records if r["review_id"] == ex.review_id)
        final = {(c["system"], c["code"]) for c in record["final_codes"]}
        assert ex.positives == final
        assert {(c.system, c.code) for c in ex.note.codes} == final
        assert not ex.positives & ex.negatives
        for code in ex.note.codes:
            for start, end in code.evidence:
                assert 0 <= start < end <= len(ex.note.text)
        rejected = {
            (e["system"], e["code"])
            for e in record["corrections"]
            if e["action"] in ("reject", "replace")
        }
        assert rejected <= ex.negatives
        assert {(d.system, d.code) for d in ex.note.distractors} == ex.negatives
    # The replaced code is a negative and its replacement a positive, on the same note.
    set_id, old, new = retrain_env.replaced
    ex = next(e for e in cset.examples if e.suggestion_set_id == set_id)
    assert old in ex.negatives and new in ex.positives


def test_frozen_split_is_stable_and_covers_both_parts(db_records: list[dict[str, Any]]) -> None:
    ids = [f"note-{i}" for i in range(400)]
    parts = [part_of(i) for i in ids]
    assert parts == [part_of(i) for i in ids]
    share = parts.count("eval") / len(parts)
    assert 0.12 < share < 0.28
    assert part_of("note-1", 0) == "train" and part_of("note-1", 100) == "eval"
    cset = build_correction_set(db_records, eval_percent=30)
    for ex in cset.examples:
        record = next(r for r in db_records if r["review_id"] == ex.review_id)
        assert ex.part == part_of(record["note_id"], 30)
    assert cset.train and cset.eval


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        ("review_id", "review_id"),
        ("revision", "revision"),
        ("final_codes", "final_codes"),
        ("text", "text"),
        ("note_id", "note_id"),
    ],
)
def test_record_without_review_or_field_is_refused(
    db_records: list[dict[str, Any]], drop: str, field: str
) -> None:
    record = dict(db_records[0])
    del record[drop]
    with pytest.raises(CorrectionsError, match=field):
        example_from_record(record, where="line 3")


def test_evidence_outside_text_is_refused(db_records: list[dict[str, Any]]) -> None:
    record = json.loads(json.dumps(db_records[0]))
    record["final_codes"] = [
        {"system": "ICD-10-CM", "code": "R53.83", "evidence": [{"start": 0, "end": 10**6}]}
    ]
    with pytest.raises(CorrectionsError, match=r"final_codes\[0\]\.evidence\[0\]"):
        example_from_record(record)


def test_jsonl_roundtrip_and_bad_line(tmp_path: Path, db_records: list[dict[str, Any]]) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in db_records))
    assert build_correction_set(read_jsonl(path)).summary() == (
        build_correction_set(db_records).summary()
    )
    path.write_text(json.dumps(db_records[0]) + "\n{not json\n")
    with pytest.raises(CorrectionsError, match=r"export\.jsonl:2"):
        read_jsonl(path)
    with pytest.raises(CorrectionsError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_weighting(db_records: list[dict[str, Any]]) -> None:
    assert choose_repeat(4000, 300) == 5
    assert choose_repeat(300, 3000) == 1
    assert choose_repeat(100_000, 10) == 8
    assert choose_repeat(100, 0) == 0
    cset = build_correction_set(db_records)
    notes = weighted_training_notes([], cset.train, 3)
    assert len(notes) == 3 * len(cset.train)
    # Every copy of one correction keeps the same note key (one fold, one side of calibration).
    assert len({n.id for n in notes}) == len(cset.train)


def test_site_only_codes_are_those_the_base_data_never_assigns(
    db_records: list[dict[str, Any]],
) -> None:
    from evaluation.datasets import GoldCode, LabeledNote
    from evaluation.site_habits import HABIT

    cset = build_correction_set(db_records)
    trigger = [e for e in cset.train if HABIT in e.positives]
    assert trigger, "the fixture's site adds the habit code on its diabetes notes"
    base = [
        LabeledNote(f"b{i}", "Type 2 diabetes mellitus.", codes=(GoldCode("ICD-10-CM", "E11.9"),))
        for i in range(50)
    ]
    found = site_only_codes(base, cset.train, min_cases=1)
    assert HABIT in found
    assert ("ICD-10-CM", "E11.9") not in found  # the base data codes it: its negatives count
    # A code seen in only a few reviewed cases is not a habit yet.
    assert HABIT not in site_only_codes(base, cset.train, min_cases=len(trigger) + 1)
    # Once the base data assigns it (above the rate), base notes are its negatives again.
    tagged = [
        LabeledNote("h", "x", codes=(GoldCode(*HABIT),)),
        *base,
    ]
    assert HABIT not in site_only_codes(tagged, cset.train, min_cases=1, max_base_rate=0.001)
