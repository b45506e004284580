"""`validate`: machine-readable problems for unknown, header, terminated and misfit codes."""

from __future__ import annotations

import datetime as dt

import pytest

from model.codesets import Catalog


def test_valid_codes_have_no_problems(catalog: Catalog) -> None:
    assert catalog.validate("ICD-10-CM", "e119") == []
    assert catalog.validate("CPT", "99213", dt.date(2026, 5, 1)) == []
    assert catalog.validate("HCPCS", "G0439") == []


def test_header_code_is_not_billable_and_lists_its_billable_children(catalog: Catalog) -> None:
    problems = catalog.validate("ICD-10-CM", "E11.6")
    assert [p.code for p in problems] == ["not_billable"]
    assert problems[0].billable_children == (
        "E11.610", "E11.618", "E11.620", "E11.621", "E11.622", "E11.628", "E11.630",
        "E11.638", "E11.641", "E11.649", "E11.65", "E11.69",
    )  # fmt: skip
    assert "E11.6" in problems[0].message


def test_seventh_character_missing_is_not_billable(catalog: Catalog) -> None:
    problems = catalog.validate("ICD-10-CM", "S72.001")
    assert problems[0].code == "not_billable"
    assert "S72.001A" in problems[0].billable_children


@pytest.mark.parametrize(
    ("system", "code", "expected"),
    [
        ("ICD-10-CM", "E11.99", "unknown_code"),
        ("ICD-10-CM", "11.9", "invalid_format"),
        ("ICD-10-CM", "", "invalid_format"),
        ("CPT", "9921", "invalid_format"),
        ("CPT", "99999", "unknown_code"),
        ("HCPCS", "G043", "invalid_format"),
        ("HCPCS", "G9999", "unknown_code"),
        ("SNOMED", "44054006", "unknown_system"),
    ],
)
def test_bad_codes_get_one_named_problem(
    catalog: Catalog, system: str, code: str, expected: str
) -> None:
    problems = catalog.validate(system, code)
    assert [p.code for p in problems] == [expected]
    assert problems[0].message


def test_unknown_curated_cpt_points_to_the_licensed_file(catalog: Catalog) -> None:
    (problem,) = catalog.validate("CPT", "99999")
    assert "CHARTCODER_CPT_FILE" in problem.message


def test_terminated_curated_code_depends_on_date_of_service(catalog: Catalog) -> None:
    assert catalog.validate("CPT", "99441", dt.date(2024, 12, 31)) == []
    (problem,) = catalog.validate("CPT", "99441", dt.date(2025, 1, 1))
    assert problem.code == "terminated" and "2024-12-31" in problem.message
    assert catalog.validate("CPT", "99441") == []  # no date, no date check
    (problem,) = catalog.validate("HCPCS", "G2012", dt.date(2025, 6, 1))
    assert problem.code == "terminated"


def test_dates_from_official_files(official_catalog: Catalog) -> None:
    # G0436: TERM DT 2011-12-31 in the CMS fixture
    assert official_catalog.validate("HCPCS", "G0436", dt.date(2011, 6, 1)) == []
    (problem,) = official_catalog.validate("HCPCS", "G0436", dt.date(2012, 1, 1))
    assert problem.code == "terminated"
    # J9999: ADD DT 2099-01-01
    (problem,) = official_catalog.validate("HCPCS", "J9999", dt.date(2026, 1, 1))
    assert problem.code == "not_yet_effective" and "2099-01-01" in problem.message
    # licensed CPT fixture: 27096 terminated 2025-12-31
    (problem,) = official_catalog.validate("CPT", "27096", dt.date(2026, 2, 1))
    assert problem.code == "terminated"


def test_sex_and_age_edits_only_when_asked(catalog: Catalog) -> None:
    assert catalog.validate("ICD-10-CM", "N40.0") == []
    (problem,) = catalog.validate("ICD-10-CM", "N40.0", sex="F")
    assert problem.code == "sex_mismatch"
    assert catalog.validate("ICD-10-CM", "N40.0", sex="m", age=70) == []
    (problem,) = catalog.validate("ICD-10-CM", "O80", sex="F", age=60)
    assert problem.code == "age_mismatch" and "12-55" in problem.message
    (problem,) = catalog.validate("ICD-10-CM", "P07.30", age=3)
    assert problem.code == "age_mismatch"


def test_problem_to_dict(catalog: Catalog) -> None:
    data = catalog.validate("ICD-10-CM", "E11.6")[0].to_dict()
    assert data["code"] == "not_billable" and "E11.65" in data["billable_children"]
