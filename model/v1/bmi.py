"""Body mass index codes (Z68) from a BMI the note documents.

ICD-10-CM codes a BMI by its value for adults (20 years and older: Z68.1 "19.9 or less",
Z68.20-Z68.39 one code per whole unit, Z68.41-Z68.45 in wider bands) and by its percentile for
age for children and adolescents (2-19 years: Z68.51-Z68.54). The guidelines (I.B.14, I.C.21.c.3)
let the BMI come from any clinician's documentation but report it only alongside an associated
reportable condition (obesity, underweight, ...): this module proposes the code from the value,
and the ranker, which also sees the note's other candidates, learns when it is assigned.

A value is read from "BMI 35.3", "BMI: 41", "body mass index (BMI) was 16.7 kg/m2",
"BMI (Body Mass Index) of 26", "BMI 29,65" (decimal comma); a percentile from "BMI at the 97th
percentile". An inequality ("BMI < 16") or a value outside 10-99 gives nothing. A note without a
stated age is read as an adult's; a child's value without a percentile gives nothing.
"""

from __future__ import annotations

import math
import re

#: The kind recorded in `NoteAnalysis.history` (1 and 2 are family and personal history).
BMI = 3

_NAME = r"(?:BMI|body\s+mass\s+index)"
_VALUE_RE = re.compile(
    rf"\b{_NAME}\b\)?(?:\s*\({_NAME}\))?\s*(?:(?:of|was|is|were|measured|at|=|:|-)\s*){{0,2}}"
    r"(\d{1,2}(?:[.,]\d{1,2})?)(?![\d.,]*\s*(?:st|nd|rd|th|%|percentile|centile)\b)(?![\d])",
    re.IGNORECASE,
)
_PERCENTILE_RE = re.compile(
    rf"\b{_NAME}\b[^.;\n]{{0,40}}?\b(\d{{1,2}}(?:\.\d)?)\s*(?:st|nd|rd|th)?\s*"
    r"(?:percentile|centile|%ile)",
    re.IGNORECASE,
)


def adult_code(value: float) -> str | None:
    """The adult Z68 code of a BMI value (None outside 10-99)."""
    if not 10 <= value < 100:
        return None
    whole = math.floor(value)
    if whole < 20:
        return "Z68.1"
    if whole < 40:
        return f"Z68.{whole}"  # Z68.20 ... Z68.39
    for upper, code in ((45, "Z68.41"), (50, "Z68.42"), (60, "Z68.43"), (70, "Z68.44")):
        if whole < upper:
            return code
    return "Z68.45"


def pediatric_code(percentile: float) -> str | None:
    """The pediatric Z68.5x code of a BMI percentile for age."""
    if not 0 <= percentile <= 100:
        return None
    if percentile < 5:
        return "Z68.51"
    if percentile < 85:
        return "Z68.52"
    if percentile < 95:
        return "Z68.53"
    return "Z68.54"


def bmi_mentions(text: str, age: int | None) -> list[tuple[str, int, int]]:
    """(Z68 code, start, end of the documented BMI) for each BMI the note states, in order."""
    out: list[tuple[str, int, int]] = []
    pediatric = age is not None and age < 20
    if age is not None and age < 2:
        return out
    taken: list[tuple[int, int]] = []
    for m in _PERCENTILE_RE.finditer(text):
        code = pediatric_code(float(m.group(1)))
        taken.append((m.start(), m.end()))
        if code is not None and (age is None or pediatric):
            out.append((code, m.start(), m.end()))
    if pediatric:
        return out
    for m in _VALUE_RE.finditer(text):
        if any(s <= m.start() < e for s, e in taken):
            continue
        code = adult_code(float(m.group(1).replace(",", ".")))
        if code is not None:
            out.append((code, m.start(), m.end()))
    return out


def derived_bmi(
    text: str, age: int | None, index: dict[tuple[str, str], int]
) -> dict[int, tuple[int, int, int]]:
    """Code index -> (`BMI`, start, end) for the last BMI the note states (the latest value)."""
    found = [(c, s, e) for c, s, e in bmi_mentions(text, age) if ("ICD-10-CM", c) in index]
    if not found:
        return {}
    code, start, end = found[-1]
    return {index[("ICD-10-CM", code)]: (BMI, start, end)}
