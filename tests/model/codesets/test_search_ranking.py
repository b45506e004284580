"""Ranked search over descriptions, inclusion terms and our CPT/HCPCS labels."""

from __future__ import annotations

import pytest

from model.codesets import Catalog


@pytest.mark.parametrize(
    ("query", "system", "first"),
    [
        ("type 2 diabetes without complications", None, "E11.9"),
        ("Type 2 Diabetes, without complications", "ICD-10-CM", "E11.9"),
        ("essential hypertension", None, "I10"),
        ("htn", "ICD-10-CM", "I10"),  # abbreviation + inclusion term "hypertension (...)"
        ("high blood pressure", "ICD-10-CM", "I10"),  # inclusion term only
        ("pneumonia", "ICD-10-CM", "J18.9"),  # billable twin of J18 wins the tie
        ("uti", "ICD-10-CM", "N39.0"),
        ("low back pain", "ICD-10-CM", "M54.5"),  # the header, its billable twin next
        ("office visit established patient level 4", "CPT", "99214"),
        ("cbc with differential", None, "85025"),
        ("chest x-ray 2 views", None, "71046"),
        ("annual wellness visit", "HCPCS", "G0438"),
        ("vitamin b12 injection", None, "J3420"),
    ],
)
def test_best_match_ranks_first(
    catalog: Catalog, query: str, system: str | None, first: str
) -> None:
    hits = catalog.search(query, system=system, limit=5)
    assert hits, query
    assert hits[0].entry.code == first, [(h.entry.code, h.entry.description) for h in hits]


def test_scores_are_descending_and_limit_is_honoured(catalog: Catalog) -> None:
    hits = catalog.search("fracture of femur", limit=7)
    assert len(hits) == 7
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_system_filter_and_billable_only(catalog: Catalog) -> None:
    hits = catalog.search("diabetes", system="CPT")
    assert all(h.entry.system == "CPT" for h in hits)
    hits = catalog.search("type 2 diabetes mellitus", system="icd10cm", billable_only=True)
    assert hits and all(h.entry.billable for h in hits)
    assert "E11" not in [h.entry.code for h in hits]


def test_code_query_returns_the_code_first(catalog: Catalog) -> None:
    assert catalog.search("e11.9")[0].entry.code == "E11.9"
    # G0439 is HCPCS as typed, and also ICD-10-CM G04.39 undotted: the typed form wins.
    hits = catalog.search("G0439")
    assert [h.entry.code for h in hits[:2]] == ["G0439", "G04.39"]
    assert catalog.search("G0439", system="ICD-10-CM")[0].entry.code == "G04.39"


def test_no_match_and_bad_arguments(catalog: Catalog) -> None:
    assert catalog.search("") == []
    assert catalog.search("qwertyuiop zxcvbnm") == []
    with pytest.raises(ValueError, match="limit"):
        catalog.search("asthma", limit=0)
    from model.codesets import UnknownCodeError

    with pytest.raises(UnknownCodeError):
        catalog.search("asthma", system="LOINC")


def test_search_hit_to_dict(catalog: Catalog) -> None:
    data = catalog.search("type 2 diabetes without complications", limit=1)[0].to_dict()
    assert data["code"] == "E11.9" and data["system"] == "ICD-10-CM" and data["score"] > 0
