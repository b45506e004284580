"""Excludes1 pairs: codes that must never be reported together."""

from __future__ import annotations

import pytest

from model.codesets import Catalog
from model.codesets.icd10cm_rules import note_refs, ref_matches


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("E10.9", "E11.9"),  # E11 Excludes1 type 1 diabetes (E10.-)
        ("E11.9", "E10.9"),  # symmetric
        ("e109", "r739"),  # E10 Excludes1 hyperglycemia NOS (R73.9); undotted, lower case
        ("K50.90", "K51.90"),  # Crohn's vs ulcerative colitis
        ("I10", "I27.0"),  # block I10-I1A Excludes1 primary pulmonary hypertension
        ("O24.419", "Z34.00"),  # chapter 15 Excludes1 supervision of normal pregnancy (Z34.-)
        ("E11.9", "E11.A"),  # E11.9 Excludes1 E11.A
        ("T07", "T14.90"),  # the category's own note
        ("T07", "T20.00XA"),  # the note of block T07, a one-category block
    ],
)
def test_excludes1_pairs_conflict(catalog: Catalog, a: str, b: str) -> None:
    assert catalog.excludes1_conflict(a, b)
    assert catalog.excludes1_conflict(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("E11.9", "I10"),
        ("E11.9", "E11.9"),
        ("J45.909", "J44.9"),  # Excludes2 at most, never Excludes1
        ("I10", "E78.5"),
    ],
)
def test_unrelated_pairs_do_not_conflict(catalog: Catalog, a: str, b: str) -> None:
    assert not catalog.excludes1_conflict(a, b)


def test_note_refs_reads_codes_categories_and_ranges() -> None:
    assert note_refs("type 1 diabetes mellitus (E10.-)") == (("E10", "E10"),)
    assert note_refs("postprocedural hypoglycemia (E16.0-E16.1)") == (("E160", "E161"),)
    assert note_refs("hypertensive disease (O10-O11, O13-O16)") == (
        ("O10", "O11"),
        ("O13", "O16"),
    )
    assert note_refs("certain localized infections - see body system chapters") == ()


def test_ref_matches_uses_prefix_semantics() -> None:
    assert ref_matches(("E10", "E10"), "E1065")
    assert ref_matches(("E160", "E161"), "E161")
    assert not ref_matches(("E160", "E161"), "E162")
    assert ref_matches(("A00", "B99"), "A419")
    assert not ref_matches(("A00", "B99"), "C61")
