"""Coverage of the code pools and of a moderately sized sample."""

from __future__ import annotations

from collections import Counter
from typing import Any

from data.synthetic.generator import _curated_procedures
from data.synthetic.lexicon import load_lexicon


def test_icd_pool_spans_all_chapters_with_2000_codes(catalog) -> None:  # noqa: ANN001
    lex = load_lexicon()
    assert len(lex.conditions) >= 2000
    assert {c.chapter for c in lex.conditions.values()} == set(range(1, 23))
    for code in lex.conditions:
        assert catalog.validate("ICD-10-CM", code) == [], code


def test_procedure_pool_is_within_curated_tables(catalog) -> None:  # noqa: ANN001
    lex = load_lexicon()
    allowed = _curated_procedures()
    assert allowed is not None
    usable = [k for k in lex.procedures if k in allowed]
    assert sum(1 for s, _ in usable if s == "CPT") >= 120
    assert sum(1 for s, _ in usable if s == "HCPCS") >= 30
    for system, code in usable:
        assert catalog.validate(system, code) == [], code


def test_sample_covers_codes_types_and_specialties(sample_notes: list[dict[str, Any]]) -> None:
    lex = load_lexicon()
    systems: dict[str, set[str]] = {"ICD-10-CM": set(), "CPT": set(), "HCPCS": set()}
    chapters: Counter[int] = Counter()
    for n in sample_notes:
        for c in n["codes"]:
            systems[c["system"]].add(c["code"])
            if c["system"] == "ICD-10-CM":
                chapter = lex.chapter_of(c["code"])
                assert chapter is not None, c["code"]
                chapters[chapter] += 1
    assert len(systems["ICD-10-CM"]) >= 400
    assert len(systems["CPT"]) >= 60
    assert len(systems["HCPCS"]) >= 10
    assert len(chapters) >= 19
    assert len({n["meta"]["specialty"] for n in sample_notes}) >= 10
    assert {n["meta"]["note_type"] for n in sample_notes} == {
        "office",
        "ED",
        "procedure",
        "discharge",
        "telehealth",
        "preventive",
        "consult",
    }
    words = sorted(len(n["text"].split()) for n in sample_notes)
    assert words[0] >= 40
