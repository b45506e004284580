"""Encounter rules: 7th characters of injuries, uncertain diagnoses by setting, text details."""

from __future__ import annotations

import re
from typing import Any

from data.synthetic import generate_note


def _injury_codes(note: dict[str, Any]) -> list[str]:
    return [
        c["code"]
        for c in note["codes"]
        if c["system"] == "ICD-10-CM" and c["code"][0] in "ST" and len(c["code"]) == 8
    ]


def test_injuries_are_initial_in_ed_and_subsequent_only_in_follow_ups() -> None:
    ed_initial = follow_ups = 0
    for i in range(1000):
        n = generate_note(i, 13)
        for code in _injury_codes(n):
            if n["meta"]["note_type"] == "ED":
                assert code.endswith("A"), (n["id"], code)
                ed_initial += 1
            if code.endswith("D"):
                assert n["meta"]["note_type"] in ("office", "telehealth"), (n["id"], code)
                follow_ups += 1
    assert ed_initial > 10 and follow_ups > 0


def test_articles_before_ages_read_correctly(sample_notes: list[dict[str, Any]]) -> None:
    for n in sample_notes:
        assert not re.search(r"\b[Aa] (8\d|11|18)[- ]", n["text"]), n["id"]
