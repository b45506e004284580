"""Value types of the code-set catalog and the code-string helpers every loader shares.

Codes are stored in their display form: ICD-10-CM with the dot after the third character
(`E11.9`, `S72.001A`), CPT and HCPCS as five upper-case characters (`99213`, `G0439`).
`clean_code` turns user input (any case, dotted or not, surrounding blanks) into the undotted,
upper-case key every lookup uses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

ICD10CM = "ICD-10-CM"
CPT = "CPT"
HCPCS = "HCPCS"
#: The code systems the catalog speaks, in display form.
SYSTEMS: tuple[str, ...] = (ICD10CM, CPT, HCPCS)

_SYSTEM_ALIASES: dict[str, str] = {
    "icd-10-cm": ICD10CM,
    "icd10cm": ICD10CM,
    "icd-10": ICD10CM,
    "icd10": ICD10CM,
    "icd": ICD10CM,
    "cpt": CPT,
    "cpt-4": CPT,
    "cpt4": CPT,
    "hcpcs": HCPCS,
    "hcpcs-ii": HCPCS,
    "hcpcs level ii": HCPCS,
}

ProblemCode = Literal[
    "unknown_code",
    "not_billable",
    "terminated",
    "not_yet_effective",
    "invalid_format",
    "unknown_system",
    "sex_mismatch",
    "age_mismatch",
]

#: Shape of a well-formed code per system, on the cleaned (undotted, upper-case) key.
CODE_PATTERNS: dict[str, re.Pattern[str]] = {
    ICD10CM: re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$"),
    # Category I (5 digits), Category II (4 digits + F), Category III (+ T), PLA (+ U).
    CPT: re.compile(r"^[0-9]{4}[0-9FTU]$"),
    HCPCS: re.compile(r"^[A-V][0-9]{4}$"),
}

EMPTY_MAPPING: Mapping[str, str] = MappingProxyType({})


class UnknownCodeError(KeyError):
    """A code (or code system) the catalog does not know. `code` is stable for APIs."""

    def __init__(self, system: str, code: str, message: str, *, code_: str = "unknown_code"):
        super().__init__(message)
        self.system = system
        self.value = code
        self.code = code_
        self.message = message

    def __str__(self) -> str:
        return self.message


def canonical_system(system: str) -> str | None:
    """Return the display name of `system` (`"icd10cm"` -> `"ICD-10-CM"`), None if unknown."""
    key = system.strip().lower().replace("_", "-")
    if key in _SYSTEM_ALIASES:
        return _SYSTEM_ALIASES[key]
    return _SYSTEM_ALIASES.get(key.replace("-", ""))


def clean_code(code: str) -> str:
    """Lookup key of a code: upper-case, no dots, no blanks (`" e11.9 "` -> `"E119"`)."""
    return code.strip().upper().replace(".", "").replace(" ", "")


def icd_display(key: str) -> str:
    """Display form of an undotted ICD-10-CM key (`"E119"` -> `"E11.9"`)."""
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


def parse_date(value: str) -> dt.date | None:
    """Parse `YYYY-MM-DD`, `YYYYMMDD` or `M/D/YYYY`; blank gives None; else ValueError."""
    text = value.strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y", "%m/%d/%y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {value!r}; expected YYYY-MM-DD, YYYYMMDD or M/D/YYYY")


class CodeEntry(NamedTuple):
    """One code of one system (an immutable named tuple: cheap to build 98,000 of them).

    ICD-10-CM notes (`inclusion_terms`, `excludes1`, `excludes2`) are the entry's own; the
    instructional notes `code_first`, `use_additional`, `code_also` and the 7th-character table
    are inherited from ancestors (own notes first). `kind` is `"block"`, `"category"`,
    `"subcategory"` or `"code"` (a billable leaf) for ICD-10-CM and `"code"` for CPT/HCPCS.
    `official` is False for labels written by this project (curated CPT/HCPCS); ages are in
    completed years (a newborn is 0). `is_manifestation` marks ICD-10-CM manifestation codes
    ("... in diseases classified elsewhere" with a "code first" note): never sequenced first.
    """

    system: str
    code: str
    description: str
    billable: bool
    parent: str | None = None
    kind: str = "code"
    inclusion_terms: tuple[str, ...] = ()
    excludes1: tuple[str, ...] = ()
    excludes2: tuple[str, ...] = ()
    code_first: tuple[str, ...] = ()
    use_additional: tuple[str, ...] = ()
    code_also: tuple[str, ...] = ()
    seventh_characters: Mapping[str, str] = EMPTY_MAPPING
    effective: dt.date | None = None
    terminated: dt.date | None = None
    official: bool = True
    sex: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    category: str | None = None
    em_family: str | None = None
    is_manifestation: bool = False

    def is_active(self, on: dt.date) -> bool:
        """Whether the code may be reported for a service on `on`."""
        if self.effective is not None and on < self.effective:
            return False
        return self.terminated is None or on <= self.terminated

    def to_dict(self) -> dict[str, object]:
        """JSON-ready view (dates as ISO strings, tuples as lists)."""
        return {
            "system": self.system,
            "code": self.code,
            "description": self.description,
            "billable": self.billable,
            "parent": self.parent,
            "kind": self.kind,
            "inclusion_terms": list(self.inclusion_terms),
            "excludes1": list(self.excludes1),
            "excludes2": list(self.excludes2),
            "code_first": list(self.code_first),
            "use_additional": list(self.use_additional),
            "code_also": list(self.code_also),
            "seventh_characters": dict(self.seventh_characters),
            "effective": self.effective.isoformat() if self.effective else None,
            "terminated": self.terminated.isoformat() if self.terminated else None,
            "official": self.official,
            "sex": self.sex,
            "age_min": self.age_min,
            "age_max": self.age_max,
            "category": self.category,
            "em_family": self.em_family,
            "is_manifestation": self.is_manifestation,
        }


@dataclass(frozen=True, slots=True)
class Problem:
    """A machine-readable validation problem. `code` is stable; `message` is for people."""

    code: ProblemCode
    message: str
    billable_children: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "billable_children": list(self.billable_children),
        }


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the entry and its relevance score (higher is better)."""

    entry: CodeEntry
    score: float

    def to_dict(self) -> dict[str, object]:
        return {
            "system": self.entry.system,
            "code": self.entry.code,
            "description": self.entry.description,
            "billable": self.entry.billable,
            "score": round(self.score, 4),
        }
