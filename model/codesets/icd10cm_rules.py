"""ICD-10-CM rule data: code references inside notes, and MCE-style sex and age edits.

`data/icd10cm_restrictions.tsv` is a small table distilled from the public CMS Medicare Code
Editor edits (maternity 12-55, newborn 0, pediatric 0-17, adult 15-124, female-only and male-only
code ranges). Ranges use prefix semantics: `N40-N53` covers every code from N40 through N53.9.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from model.codesets.curated import CodeSetDataError, read_data
from model.codesets.entry import clean_code

Limits = tuple[str | None, int | None, int | None]

#: A reference inside a note: a code, a `.-` category, or a range `A00-B99`.
_REF = re.compile(
    r"([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?)(?:\s*-\s*([A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?))?"
)
_PAREN = re.compile(r"\(([^()]*)\)")


def note_refs(note: str) -> tuple[tuple[str, str], ...]:
    """Code ranges a note points to, as undotted `(low, high)` prefixes.

    Only text inside parentheses is read, as the tabular always writes references there:
    `"type 1 diabetes mellitus (E10.-)"` -> `(("E10", "E10"),)`;
    `"(E16.0-E16.1)"` -> `(("E160", "E161"),)`.
    """
    out: list[tuple[str, str]] = []
    for group in _PAREN.findall(note):
        for m in _REF.finditer(group):
            low = clean_code(m.group(1)).rstrip("-")
            high = clean_code(m.group(2)).rstrip("-") if m.group(2) else low
            out.append((low, high))
    return tuple(out)


def ref_matches(ref: tuple[str, str], key: str) -> bool:
    """Whether undotted `key` lies in the reference range (prefix semantics)."""
    low, high = ref
    return key[: len(low)] >= low and key[: len(high)] <= high


@dataclass(frozen=True, slots=True)
class Restriction:
    """One row of `data/icd10cm_restrictions.tsv` (MCE-style sex and age edits)."""

    first: str
    last: str
    sex: str | None
    age_min: int | None
    age_max: int | None
    edit: str


def load_restrictions(text: str | None = None) -> list[Restriction]:
    """Read and validate `data/icd10cm_restrictions.tsv` (or `text` in its format)."""
    name = "icd10cm_restrictions.tsv"
    if text is None:
        text = read_data(name)
    lines = text.splitlines()
    header = lines[0].split("\t") if lines else []
    expected = ["first", "last", "sex", "age_min", "age_max", "edit", "note"]
    if header != expected:
        raise CodeSetDataError(f"{name}: header must be {expected}, got {header}")
    pattern = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$")
    out: list[Restriction] = []
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(expected):
            raise CodeSetDataError(f"{name} line {i}: expected {len(expected)} fields")
        first, last = clean_code(cells[0]), clean_code(cells[1])
        for value in (first, last):
            if not pattern.match(value):
                raise CodeSetDataError(f"{name} line {i}: {value!r} is not an ICD-10-CM code")
        if first > last:
            raise CodeSetDataError(f"{name} line {i}: first {first} sorts after last {last}")
        sex = cells[2].strip() or None
        if sex not in (None, "F", "M"):
            raise CodeSetDataError(f"{name} line {i}: sex {sex!r} must be one of 'F', 'M', ''")
        ages: list[int | None] = []
        for cell in cells[3:5]:
            if not cell.strip():
                ages.append(None)
                continue
            if not cell.strip().isdigit() or not 0 <= int(cell) <= 124:
                raise CodeSetDataError(f"{name} line {i}: age {cell!r} must be 0-124 or blank")
            ages.append(int(cell))
        edit = cells[5].strip()
        allowed = {"maternity", "female", "male", "newborn", "pediatric", "adult"}
        if edit not in allowed:
            raise CodeSetDataError(
                f"{name} line {i}: edit {edit!r} is not one of {sorted(allowed)}"
            )
        out.append(Restriction(first, last, sex, ages[0], ages[1], edit))
    return out


def restriction_index(
    keys: list[str], rules: list[Restriction]
) -> dict[str, tuple[str | None, int | None, int | None]]:
    """Map each key covered by a rule to its merged (sex, age_min, age_max)."""
    ordered = sorted(keys)
    merged: dict[str, tuple[str | None, int | None, int | None]] = {}
    for rule in rules:
        lo = bisect.bisect_left(ordered, rule.first)
        hi = bisect.bisect_right(ordered, rule.last + "\uffff")
        for key in ordered[lo:hi]:
            if not ref_matches((rule.first, rule.last), key):
                continue
            sex, amin, amax = merged.get(key, (None, None, None))
            sex = rule.sex or sex
            if rule.age_min is not None:
                amin = rule.age_min if amin is None else max(amin, rule.age_min)
            if rule.age_max is not None:
                amax = rule.age_max if amax is None else min(amax, rule.age_max)
            merged[key] = (sex, amin, amax)
    return merged
