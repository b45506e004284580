"""Diagnosis edits: presence and count, ICD-10-CM validity, Excludes1, sequencing, sex, age."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import combinations

from serving.claims.catalog import ICD10CM, icd_dotted, problem_text
from serving.claims.edits.context import MAX_LINES, SRC_ICD, SRC_X12, EditContext, _edit
from serving.claims.schemas import ClaimEdit


def required_codes(ctx: EditContext) -> Iterator[ClaimEdit]:
    rule = "required_codes"
    if not ctx.diagnoses:
        yield _edit(
            "dx.missing",
            "the claim has no diagnosis (837P HI is required)",
            rule,
            SRC_X12,
            field="diagnoses",
        )
    if not ctx.lines:
        yield _edit(
            "line.missing",
            "the claim has no service line (837P 2400 is required)",
            rule,
            SRC_X12,
            field="lines",
        )
    if len(ctx.lines) > MAX_LINES:
        yield _edit(
            "line.too_many",
            f"{len(ctx.lines)} service lines; an 837P claim takes at most {MAX_LINES}",
            rule,
            SRC_X12,
            field="lines",
        )


def max_diagnoses(ctx: EditContext) -> Iterator[ClaimEdit]:
    limit = ctx.tables.rules.max_diagnoses
    if len(ctx.diagnoses) > limit:
        yield _edit(
            "dx.too_many",
            f"{len(ctx.diagnoses)} diagnoses; a claim takes at most {limit} (first-listed first)",
            "max_diagnoses",
            SRC_X12,
            field="diagnoses",
        )


# --- ICD-10-CM ------------------------------------------------------------------------------


def icd_valid_billable(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Each diagnosis is an ICD-10-CM code, billable (a leaf), and in effect on the date."""
    rule, day = "icd_valid_billable", ctx.first_date
    for i, dx in enumerate(ctx.diagnoses):
        field = f"diagnoses[{i}].code"
        if ctx.icd(dx.code) is None:
            yield _edit(
                "icd.invalid", f"{dx.code} is not an ICD-10-CM code", rule, SRC_ICD, field=field
            )
            continue
        for problem in ctx.catalog.validate(ICD10CM, icd_dotted(dx.code), day):
            kind = getattr(problem, "code", "")
            edit_code = _ICD_PROBLEM_EDITS.get(str(kind))
            if edit_code is None:
                continue  # sex/age problems are their own rules
            text = problem_text(problem)
            if edit_code == "icd.invalid_on_date":
                text = f"{text} (date of service {day})"
            yield _edit(edit_code, text, rule, SRC_ICD, field=field)


#: Catalog problem code -> edit code.
_ICD_PROBLEM_EDITS = {
    "unknown_code": "icd.invalid",
    "invalid_format": "icd.invalid",
    "not_billable": "icd.not_billable",
    "terminated": "icd.invalid_on_date",
    "not_yet_effective": "icd.invalid_on_date",
}


def icd_excludes1(ctx: EditContext) -> Iterator[ClaimEdit]:
    """No two diagnoses may form an Excludes1 pair (unknown codes are icd_valid_billable's)."""
    known = [(j, icd_dotted(d.code)) for j, d in enumerate(ctx.diagnoses) if ctx.icd(d.code)]
    for (_, a), (j, b) in combinations(known, 2):
        if ctx.catalog.excludes1_conflict(a, b):
            yield _edit(
                "icd.excludes1",
                f"{a} and {b} are an Excludes1 pair and cannot be reported together",
                "icd_excludes1",
                SRC_ICD,
                field=f"diagnoses[{j}].code",
            )


def icd_manifestation_first(ctx: EditContext) -> Iterator[ClaimEdit]:
    if not ctx.diagnoses:
        return
    first = ctx.diagnoses[0]
    entry = ctx.icd(first.code)
    if entry is not None and entry.is_manifestation:
        yield _edit(
            "icd.manifestation_first",
            f"{first.code} is a manifestation code ('code first' "
            "the underlying condition) and cannot be first-listed",
            "icd_manifestation_first",
            SRC_ICD,
            field="diagnoses[0].code",
        )


def icd_sex(ctx: EditContext) -> Iterator[ClaimEdit]:
    sex = ctx.claim.patient.sex
    if sex == "U":
        return
    for i, dx in enumerate(ctx.diagnoses):
        entry = ctx.icd(dx.code)
        if entry is not None and entry.sex in ("M", "F") and entry.sex != sex:
            yield _edit(
                "icd.sex_conflict",
                f"{dx.code} applies to sex {entry.sex} only; the patient's sex is {sex}",
                "icd_sex",
                SRC_ICD,
                field=f"diagnoses[{i}].code",
            )


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def icd_age(ctx: EditContext) -> Iterator[ClaimEdit]:
    day = ctx.first_date
    if day is None:
        return
    age = age_on(ctx.claim.patient.birth_date, day)
    for i, dx in enumerate(ctx.diagnoses):
        entry = ctx.icd(dx.code)
        if entry is None:
            continue
        lo, hi = entry.age_min, entry.age_max
        if (lo is not None and age < lo) or (hi is not None and age > hi):
            yield _edit(
                "icd.age_conflict",
                f"{dx.code} applies to ages {lo if lo is not None else 0}"
                f"-{hi if hi is not None else 124}; the patient is {age} on {day}",
                "icd_age",
                SRC_ICD,
                field=f"diagnoses[{i}].code",
            )
