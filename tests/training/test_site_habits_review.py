"""The site-habits benchmark's coder: its reviews go through the real API and the habit code
reaches the training set as a coder-added positive, with evidence inside the note."""

from __future__ import annotations

from typing import Any

from evaluation.site_habits import HABIT, is_trigger, pattern_rate, review_like_site
from training.corrections import build_correction_set


def test_habit_code_is_added_on_trigger_notes_only(
    retrain_env: Any, db_records: list[dict[str, Any]]
) -> None:
    cset = build_correction_set(db_records)
    by_set = {e.suggestion_set_id: e for e in cset.examples}
    n_trigger = 0
    for set_id, note in retrain_env.notes_by_set.items():
        if set_id == retrain_env.rereviewed_set:
            continue
        ex = by_set[set_id]
        if is_trigger(note):
            n_trigger += 1
            assert HABIT in ex.positives
            habit = next(c for c in ex.note.codes if (c.system, c.code) == HABIT)
            assert habit.evidence
            for start, end in habit.evidence:
                assert ex.note.text[start:end].strip()
        else:
            assert HABIT not in ex.positives
    assert n_trigger >= 3


def test_review_body_accepts_gold_rejects_wrong_and_adds_missing(retrain_env: Any) -> None:
    note = next(n for n in retrain_env.notes_by_set.values() if is_trigger(n))
    gold = {(c.system, c.code) for c in note.codes}
    code = next(c for c in ("J45.909", "K21.9", "M54.50") if ("ICD-10-CM", c) not in gold)
    wrong = {"system": "ICD-10-CM", "code": code, "accepted": True}
    kept = {"system": next(iter(gold))[0], "code": next(iter(gold))[1], "accepted": False}
    body = review_like_site(note, [wrong, kept])
    actions = {(d["code"], d["action"]) for d in body["decisions"]}
    assert (code, "reject") in actions and (kept["code"], "accept") in actions
    added = {(a["system"], a["code"]) for a in body["added"]}
    assert added == (gold | {HABIT}) - {(kept["system"], kept["code"])}


def test_pattern_rate_of_the_base_model(trained_model_dir: Any, retrain_env: Any) -> None:
    notes = [n for n in retrain_env.notes_by_set.values() if is_trigger(n)]
    rate = pattern_rate(trained_model_dir, notes)
    top30 = pattern_rate(trained_model_dir, notes, top=30)
    assert 0.0 <= rate <= top30 <= 1.0
    assert pattern_rate(trained_model_dir, []) == 0.0
