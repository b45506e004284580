"""Lookups: dotted/undotted/any-case input, headers vs billable codes, hierarchy, metadata."""

from __future__ import annotations

import pytest

from model.codesets import Catalog, UnknownCodeError


@pytest.mark.parametrize("raw", ["E11.9", "E119", "e11.9", "e119", " E11.9 "])
def test_get_accepts_dotted_undotted_and_any_case(catalog: Catalog, raw: str) -> None:
    entry = catalog.get("ICD-10-CM", raw)
    assert entry is not None
    assert entry.code == "E11.9"
    assert entry.description == "Type 2 diabetes mellitus without complications"
    assert entry.billable and entry.parent == "E11" and entry.kind == "code"


@pytest.mark.parametrize("system", ["ICD-10-CM", "icd10cm", "icd-10-cm", "ICD10"])
def test_get_accepts_system_aliases(catalog: Catalog, system: str) -> None:
    assert catalog.get(system, "I10") is not None


def test_get_returns_none_for_unknown_code_or_system(catalog: Catalog) -> None:
    assert catalog.get("ICD-10-CM", "E11.99") is None
    assert catalog.get("ICD-10-CM", "") is None
    assert catalog.get("SNOMED", "E11.9") is None
    assert catalog.get("CPT", "99999") is None


def test_normalize_gives_display_form_and_raises_on_unknown(catalog: Catalog) -> None:
    assert catalog.normalize("ICD-10-CM", "s72001a") == "S72.001A"
    assert catalog.normalize("cpt", " 99213 ") == "99213"
    assert catalog.normalize("HCPCS", "g0439") == "G0439"
    with pytest.raises(UnknownCodeError) as err:
        catalog.normalize("ICD-10-CM", "E11.99")
    assert err.value.code == "unknown_code" and "E11.99" in str(err.value)
    with pytest.raises(UnknownCodeError) as err:
        catalog.normalize("LOINC", "1234-5")
    assert err.value.code == "unknown_system"


def test_header_has_billable_descendants_and_leaf_has_none(catalog: Catalog) -> None:
    header = catalog.get("ICD-10-CM", "E11")
    assert header is not None and not header.billable and header.kind == "category"
    kids = catalog.billable_descendants("E11")
    assert "E11.9" in kids and "E11.65" in kids and "E11.6" not in kids
    assert all(catalog.get("ICD-10-CM", k).billable for k in kids)  # type: ignore[union-attr]
    assert catalog.billable_descendants("E11.9") == ()
    assert catalog.children("E11.6") == ("E11.61", "E11.62", "E11.63", "E11.64", "E11.65", "E11.69")


def test_seventh_character_codes_are_generated_and_inherit_the_table(catalog: Catalog) -> None:
    leaf = catalog.get("ICD-10-CM", "S72.001A")
    assert leaf is not None and leaf.billable
    assert leaf.description.endswith("initial encounter for closed fracture")
    assert leaf.seventh_characters["A"] == "initial encounter for closed fracture"
    parent = catalog.get("ICD-10-CM", "S72.001")
    assert parent is not None and not parent.billable
    # placeholder X: T36.0X1A exists, T36.01A does not
    assert catalog.get("ICD-10-CM", "T36.0X1A") is not None
    assert catalog.get("ICD-10-CM", "T36.01A") is None


def test_ancestors_walk_up_to_the_block(catalog: Catalog) -> None:
    assert catalog.ancestors("E11.621") == ("E11.62", "E11.6", "E11", "E08-E13")
    block = catalog.get("ICD-10-CM", "e08-e13")
    assert block is not None and block.kind == "block" and not block.billable


def test_categories_sharing_their_block_id_are_billable_codes(catalog: Catalog) -> None:
    # B20 is both a one-category block and a billable code (simple-icd-10-cm loses it).
    for code in ("B20", "F99", "R99", "Z66"):
        entry = catalog.get("ICD-10-CM", code)
        assert entry is not None and entry.billable, code


def test_entries_are_in_release_order_with_parents_first(catalog: Catalog) -> None:
    order = [e.code for e in catalog.entries("ICD-10-CM", billable_only=False)]
    pos = {code: i for i, code in enumerate(order)}
    assert pos["E08-E13"] < pos["E11"] < pos["E11.6"] < pos["E11.65"] < pos["E11.9"]
    assert order[0] == "A00-A09"


def test_counts_match_the_april_2026_release(catalog: Catalog) -> None:
    billable = list(catalog.entries("ICD-10-CM"))
    assert len(billable) == 74_719
    assert all(e.billable for e in billable)
    assert catalog.release["ICD-10-CM"] == "2026 (April 1, 2026)"


def test_notes_are_read_and_instructional_notes_inherited(catalog: Catalog) -> None:
    e11 = catalog.get("ICD-10-CM", "E11")
    assert e11 is not None
    assert "diabetes NOS" in e11.inclusion_terms
    assert "diabetes mellitus due to underlying condition (E08.-)" in e11.excludes1
    e119 = catalog.get("ICD-10-CM", "E11.9")
    assert e119 is not None and any("Z79.4" in n for n in e119.use_additional)


def test_manifestation_codes_are_flagged(catalog: Catalog) -> None:
    g63 = catalog.get("ICD-10-CM", "G63")
    assert g63 is not None and g63.is_manifestation and g63.code_first
    e119 = catalog.get("ICD-10-CM", "E11.9")
    assert e119 is not None and not e119.is_manifestation


@pytest.mark.parametrize(
    ("code", "sex", "age_min", "age_max"),
    [
        ("O80", "F", 12, 55),
        ("N40.0", "M", None, None),
        ("C61", "M", None, None),
        ("C53.9", "F", None, None),
        ("P07.30", None, 0, 0),
        ("Z00.121", None, 0, 17),
        ("E11.9", None, None, None),
    ],
)
def test_sex_and_age_edits(
    catalog: Catalog, code: str, sex: str | None, age_min: int | None, age_max: int | None
) -> None:
    entry = catalog.get("ICD-10-CM", code)
    assert entry is not None
    assert (entry.sex, entry.age_min, entry.age_max) == (sex, age_min, age_max)


def test_cpt_and_hcpcs_curated_entries_are_labelled_unofficial(catalog: Catalog) -> None:
    visit = catalog.get("CPT", "99214")
    assert visit is not None and visit.billable and not visit.official
    assert visit.category == "evaluation_management" and visit.em_family == "office_established"
    awv = catalog.get("HCPCS", "G0439")
    assert awv is not None and not awv.official and awv.category == "wellness"
    assert catalog.release["CPT"] == "chartcoder-curated-2026"


def test_to_dict_is_json_ready(catalog: Catalog) -> None:
    import json

    entry = catalog.get("CPT", "99441")
    assert entry is not None
    data = json.loads(json.dumps(entry.to_dict()))
    assert data["terminated"] == "2024-12-31" and data["official"] is False


def test_unknown_code_in_hierarchy_calls_raises(catalog: Catalog) -> None:
    with pytest.raises(UnknownCodeError):
        catalog.billable_descendants("E11.99")
    with pytest.raises(UnknownCodeError):
        catalog.excludes1_conflict("E11.9", "ZZZ")
