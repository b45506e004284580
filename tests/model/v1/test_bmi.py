"""Z68 body mass index codes from the BMI a note documents."""

from __future__ import annotations

import pytest

from model.codesets import get_catalog
from model.v1.bmi import BMI, adult_code, bmi_mentions, derived_bmi, pediatric_code


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (13.4, "Z68.1"),
        (19.99, "Z68.1"),
        (20.0, "Z68.20"),
        (26.0, "Z68.26"),
        (29.65, "Z68.29"),
        (30.9, "Z68.30"),
        (39.9, "Z68.39"),
        (40.0, "Z68.41"),
        (44.9, "Z68.41"),
        (46.62, "Z68.42"),
        (59.19, "Z68.43"),
        (65.0, "Z68.44"),
        (74.0, "Z68.45"),
        (9.5, None),
        (100.0, None),
    ],
)
def test_adult_code_bands(value: float, code: str | None) -> None:
    assert adult_code(value) == code


@pytest.mark.parametrize(
    ("pct", "code"),
    [(3, "Z68.51"), (5, "Z68.52"), (84.9, "Z68.52"), (85, "Z68.53"), (97, "Z68.54")],
)
def test_pediatric_code_bands(pct: float, code: str) -> None:
    assert pediatric_code(pct) == code


def test_every_code_is_billable_in_the_catalog() -> None:
    catalog = get_catalog()
    codes = {adult_code(v / 10) for v in range(100, 999)} | {
        pediatric_code(p) for p in range(0, 101)
    }
    for code in codes - {None}:
        entry = catalog.get("ICD-10-CM", code)
        assert entry is not None and entry.billable, code


@pytest.mark.parametrize(
    ("text", "age", "expected"),
    [
        ("Wt 69 kg, BMI 40.3", None, [("Z68.41", "BMI 40.3")]),
        ("a BMI (Body Mass Index) of 26.", 44, [("Z68.26", "BMI (Body Mass Index) of 26")]),
        ("her body mass index (BMI) was 16.7 kg/m2.", None,
         [("Z68.1", "body mass index (BMI) was 16.7")]),
        ("weight 86.7 kg, height 171 cm, BMI 29,65 kg/m2.", None, [("Z68.29", "BMI 29,65")]),
        ("admitted with a mass index (BMI) 41kg/m2,", 60, [("Z68.41", "BMI) 41")]),
        ("BMI at the 97th percentile for age.", 9, [("Z68.54", "BMI at the 97th percentile")]),
        # no number to code, a child's value without a percentile, an infant
        ("significant cachexia (BMI < 16) and anemia", None, []),
        ("her body mass index (BMI) was normal.", None, []),
        ("BMI 24.1", 9, []),
        ("BMI at the 50th percentile", 1, []),
    ],
)  # fmt: skip
def test_bmi_mentions(text: str, age: int | None, expected: list[tuple[str, str]]) -> None:
    assert [(c, text[s:e]) for c, s, e in bmi_mentions(text, age)] == expected


def test_derived_bmi_keeps_the_latest_value_and_known_codes_only() -> None:
    text = "Obesity. BMI 35.3 on admission; BMI 36.1 at discharge."
    index = {("ICD-10-CM", "Z68.35"): 1, ("ICD-10-CM", "Z68.36"): 2}
    out = derived_bmi(text, None, index)
    assert list(out) == [2] and out[2][0] == BMI
    assert text[out[2][1] : out[2][2]] == "BMI 36.1"
    assert derived_bmi(text, None, {("ICD-10-CM", "Z68.35"): 1}) == {
        1: (BMI, text.find("BMI 35.3"), text.find("BMI 35.3") + 8)
    }
    assert derived_bmi(text, None, {}) == {}
