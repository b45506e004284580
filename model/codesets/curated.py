"""Our curated CPT and HCPCS Level II tables (codes with labels written by this project).

Curated tables (`data/*_curated.tsv`, `data/*_retired.tsv`) carry short plain-language labels
written by this project (`official=False`). CPT descriptors are AMA-copyrighted and never ship
here; a licensed user loads their own file with `model.codesets.official` to replace the labels.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

from model.codesets.entry import CODE_PATTERNS, CPT, HCPCS, CodeEntry, clean_code, parse_date

#: Categories a curated CPT/HCPCS row may carry (validated on load).
CATEGORIES: frozenset[str] = frozenset(
    {
        "allergy",
        "anesthesia",
        "cardiovascular",
        "care_management",
        "counseling",
        "dme",
        "drug",
        "ent",
        "evaluation_management",
        "imaging",
        "immunization_admin",
        "injection_infusion",
        "laboratory",
        "medicine",
        "neurology",
        "obstetrics_gynecology",
        "ophthalmology",
        "orthotic",
        "pathology",
        "performance_measure",
        "physical_medicine",
        "preventive",
        "psychiatry",
        "pulmonary",
        "screening",
        "special_services",
        "supply",
        "surgery",
        "surgery_digestive",
        "surgery_genitourinary",
        "surgery_integumentary",
        "surgery_musculoskeletal",
        "telehealth",
        "vaccine",
        "wellness",
        "other",
    }
)
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
MAX_LABEL_CHARS = 120


class CodeSetDataError(ValueError):
    """A code-set data file is malformed. The message names the file, line and bad value."""


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    values: dict[str, str]


def _read_tsv(text: str, source: str, required: tuple[str, ...]) -> Iterator[_Row]:
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = tuple(reader.fieldnames or ())
    missing = [c for c in required if c not in header]
    if missing:
        raise CodeSetDataError(f"{source}: missing column(s) {missing}; header is {list(header)}")
    for i, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise CodeSetDataError(
                f"{source} line {i}: expected {len(header)} tab-separated fields"
            )
        yield _Row(i, {k: (v or "").strip() for k, v in row.items()})


def read_data(name: str) -> str:
    """Text of a packaged data file under `model/codesets/data/`."""
    return resources.files("model.codesets").joinpath("data", name).read_text(encoding="utf-8")


def parse_curated(text: str, name: str, system: str, *, retired: bool) -> list[CodeEntry]:
    """Validate and parse one curated TSV (`code, label, category[, em_family][, terminated]`).

    Raises CodeSetDataError naming the file, line and bad value.
    """
    required = ("code", "label", "category") + (("terminated",) if retired else ())
    entries: list[CodeEntry] = []
    seen: set[str] = set()
    for row in _read_tsv(text, name, required):
        where = f"{name} line {row.line}"
        code = clean_code(row.values["code"])
        if not CODE_PATTERNS[system].match(code):
            raise CodeSetDataError(f"{where}: {row.values['code']!r} is not a {system} code")
        if code in seen:
            raise CodeSetDataError(f"{where}: duplicate code {code}")
        seen.add(code)
        label = row.values["label"]
        if not label or len(label) > MAX_LABEL_CHARS:
            raise CodeSetDataError(f"{where}: label must be 1-{MAX_LABEL_CHARS} characters")
        category = row.values["category"]
        if category not in CATEGORIES:
            raise CodeSetDataError(
                f"{where}: category {category!r} is not one of {sorted(CATEGORIES)}"
            )
        em_family = row.values.get("em_family", "") or None
        if em_family is not None and not _SLUG.match(em_family):
            raise CodeSetDataError(f"{where}: em_family {em_family!r} must be a lower_case slug")
        terminated: dt.date | None = None
        if retired:
            try:
                terminated = parse_date(row.values["terminated"])
            except ValueError as exc:
                raise CodeSetDataError(f"{where}: terminated: {exc}") from exc
            if terminated is None:
                raise CodeSetDataError(f"{where}: terminated date is required in {name}")
        entries.append(
            CodeEntry(
                system=system,
                code=code,
                description=label,
                billable=True,
                official=False,
                category=category,
                em_family=em_family,
                terminated=terminated,
            )
        )
    return entries


def curated_cpt() -> list[CodeEntry]:
    """Our curated CPT codes (current and retired), labels written by this project."""
    current = parse_curated(read_data("cpt_curated.tsv"), "cpt_curated.tsv", CPT, retired=False)
    retired = parse_curated(read_data("cpt_retired.tsv"), "cpt_retired.tsv", CPT, retired=True)
    _check_disjoint(current, retired, "cpt_curated.tsv", "cpt_retired.tsv")
    return current + retired


def curated_hcpcs() -> list[CodeEntry]:
    """Our curated HCPCS Level II codes (current and retired), labels written by this project."""
    current = parse_curated(
        read_data("hcpcs_curated.tsv"), "hcpcs_curated.tsv", HCPCS, retired=False
    )
    retired = parse_curated(
        read_data("hcpcs_retired.tsv"), "hcpcs_retired.tsv", HCPCS, retired=True
    )
    _check_disjoint(current, retired, "hcpcs_curated.tsv", "hcpcs_retired.tsv")
    return current + retired


def _check_disjoint(a: list[CodeEntry], b: list[CodeEntry], name_a: str, name_b: str) -> None:
    both = {e.code for e in a} & {e.code for e in b}
    if both:
        raise CodeSetDataError(f"code(s) {sorted(both)} appear in both {name_a} and {name_b}")
