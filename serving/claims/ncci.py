"""NCCI procedure-to-procedure pairs, MUEs, global days and claim rule tables.

The packaged tables under `serving/claims/data/` are a curated, illustrative subset (see the
README there). `load_cms_ptp_file` and `load_cms_mue_file` read the CMS quarterly practitioner
files (tab- or comma-separated text exported from the CMS download) so the real edits can
replace the packaged ones: `NcciTables.packaged().with_cms_files(ptp=..., mue=...)`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

DATA_PACKAGE = "serving.claims"
_CODE = re.compile(r"^[0-9A-Z][0-9]{3}[0-9A-Z]$")
_MODIFIER_INDICATORS = ("0", "1", "9")
_MAI = ("1", "2", "3")
_GLOBAL_DAYS = ("000", "010", "090", "MMM", "XXX", "YYY", "ZZZ")


class TableError(ValueError):
    """A rule table row is malformed; the message names the file, line, value and allowed ones."""


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column_1: str
    column_2: str
    effective: dt.date
    deleted: dt.date | None
    modifier_indicator: str
    rationale: str = ""

    def active_on(self, day: dt.date) -> bool:
        return self.effective <= day and (self.deleted is None or day < self.deleted)


@dataclass(frozen=True, slots=True)
class Mue:
    code: str
    value: int
    mai: str


@dataclass(frozen=True, slots=True)
class ClaimRules:
    version: str
    max_diagnoses: int
    max_pointers_per_line: int
    em_code_ranges: tuple[tuple[str, str], ...]
    minor_procedure_global_days: frozenset[str]
    em_same_day_modifiers: frozenset[str]
    bypass_modifiers: frozenset[str]
    ncci_associated_modifiers: frozenset[str]
    place_of_service_codes: frozenset[str]
    us_states: frozenset[str]

    def is_em(self, code: str) -> bool:
        return code.isdigit() and any(lo <= code <= hi for lo, hi in self.em_code_ranges)


@dataclass(frozen=True, slots=True)
class NcciTables:
    """Everything the NCCI/MUE/modifier edits read. `source_*` name where each table came from."""

    ptp: dict[tuple[str, str], tuple[PtpEdit, ...]]
    mue: dict[str, Mue]
    global_days: dict[str, str]
    rules: ClaimRules
    source_ptp: str
    source_mue: str
    source_global_days: str = field(default="")

    @classmethod
    def packaged(cls) -> NcciTables:
        return _packaged()

    def with_cms_files(self, *, ptp: Path | None = None, mue: Path | None = None) -> NcciTables:
        """These tables with the PTP and/or MUE table replaced by CMS quarterly files."""
        out = self
        if ptp is not None:
            out = replace(out, ptp=_index_ptp(load_cms_ptp_file(ptp)), source_ptp=f"CMS {ptp.name}")
        if mue is not None:
            out = replace(
                out, mue={m.code: m for m in load_cms_mue_file(mue)}, source_mue=f"CMS {mue.name}"
            )
        return out

    def ptp_edits(self, a: str, b: str, day: dt.date) -> list[PtpEdit]:
        """Active edits between two codes in either column order."""
        found = [*self.ptp.get((a, b), ()), *self.ptp.get((b, a), ())]
        return [e for e in found if e.active_on(day)]


# --- parsing helpers --------------------------------------------------------------------------


def _date(value: str, where: str) -> dt.date:
    try:
        return dt.datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        raise TableError(f"{where}: date {value!r} is not YYYYMMDD") from None


def _choice(value: str, allowed: tuple[str, ...], what: str, where: str) -> str:
    v = value.strip()
    if v not in allowed:
        raise TableError(f"{where}: {what} {v!r} is not one of {', '.join(allowed)}")
    return v


def _code(value: str, where: str) -> str:
    v = value.strip().upper()
    if not _CODE.match(v):
        raise TableError(f"{where}: {v!r} is not a 5-character CPT/HCPCS code")
    return v


def _rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """Data rows of a tab- or comma-separated file, skipping `#` comments and blank lines."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        sep = "\t" if "\t" in line else ","
        yield lineno, next(csv.reader(io.StringIO(line), delimiter=sep))


def parse_ptp(text: str, name: str) -> list[PtpEdit]:
    """Rows of our packaged PTP TSV (with its header row)."""
    out: list[PtpEdit] = []
    header_seen = False
    for lineno, cols in _rows(text):
        if not header_seen:
            header_seen = True
            if cols[0].strip() == "column_1":
                continue
        where = f"{name}:{lineno}"
        if len(cols) < 5:
            raise TableError(f"{where}: expected 5+ columns, got {len(cols)}")
        deletion = cols[3].strip()
        out.append(
            PtpEdit(
                column_1=_code(cols[0], where),
                column_2=_code(cols[1], where),
                effective=_date(cols[2], where),
                deleted=None if deletion in ("*", "") else _date(deletion, where),
                modifier_indicator=_choice(
                    cols[4], _MODIFIER_INDICATORS, "modifier indicator", where
                ),
                rationale=cols[5].strip() if len(cols) > 5 else "",
            )
        )
    return out


def parse_mue(text: str, name: str) -> list[Mue]:
    out: list[Mue] = []
    for lineno, cols in _rows(text):
        if cols[0].strip().lower() == "code":
            continue
        where = f"{name}:{lineno}"
        if len(cols) < 3:
            raise TableError(f"{where}: expected 3 columns, got {len(cols)}")
        try:
            value = int(cols[1])
        except ValueError:
            raise TableError(f"{where}: MUE value {cols[1]!r} is not an integer") from None
        if value < 0:
            raise TableError(f"{where}: MUE value {value} is negative")
        out.append(Mue(_code(cols[0], where), value, _choice(cols[2], _MAI, "MAI", where)))
    return out


def parse_global_days(text: str, name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for lineno, cols in _rows(text):
        if cols[0].strip().lower() == "code":
            continue
        where = f"{name}:{lineno}"
        out[_code(cols[0], where)] = _choice(cols[1], _GLOBAL_DAYS, "global days", where)
    return out


def parse_rules(raw: dict[str, Any], name: str) -> ClaimRules:
    required = (
        "version",
        "max_diagnoses",
        "max_pointers_per_line",
        "em_code_ranges",
        "minor_procedure_global_days",
        "em_same_day_modifiers",
        "bypass_modifiers",
        "ncci_associated_modifiers",
        "place_of_service_codes",
        "us_states",
    )
    missing = [k for k in required if k not in raw]
    if missing:
        raise TableError(f"{name}: missing keys {', '.join(missing)}")
    for lo, hi in raw["em_code_ranges"]:
        if not (str(lo).isdigit() and str(hi).isdigit() and lo <= hi):
            raise TableError(f"{name}: em_code_ranges entry [{lo!r}, {hi!r}] is not a range")
    bad_days = set(raw["minor_procedure_global_days"]) - set(_GLOBAL_DAYS)
    if bad_days:
        raise TableError(
            f"{name}: minor_procedure_global_days {sorted(bad_days)} not in {_GLOBAL_DAYS}"
        )
    return ClaimRules(
        version=str(raw["version"]),
        max_diagnoses=int(raw["max_diagnoses"]),
        max_pointers_per_line=int(raw["max_pointers_per_line"]),
        em_code_ranges=tuple((str(lo), str(hi)) for lo, hi in raw["em_code_ranges"]),
        minor_procedure_global_days=frozenset(raw["minor_procedure_global_days"]),
        em_same_day_modifiers=frozenset(raw["em_same_day_modifiers"]),
        bypass_modifiers=frozenset(raw["bypass_modifiers"]),
        ncci_associated_modifiers=frozenset(raw["ncci_associated_modifiers"]),
        place_of_service_codes=frozenset(raw["place_of_service_codes"]),
        us_states=frozenset(raw["us_states"]),
    )


def _index_ptp(edits: Iterable[PtpEdit]) -> dict[tuple[str, str], tuple[PtpEdit, ...]]:
    index: dict[tuple[str, str], list[PtpEdit]] = {}
    for e in edits:
        index.setdefault((e.column_1, e.column_2), []).append(e)
    return {k: tuple(v) for k, v in index.items()}


def _resource(name: str) -> str:
    return files(DATA_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _packaged() -> NcciTables:
    rules = parse_rules(json.loads(_resource("claim_rules.json")), "claim_rules.json")
    quarter = rules.version
    return NcciTables(
        ptp=_index_ptp(
            parse_ptp(_resource("ncci_ptp_practitioner.tsv"), "ncci_ptp_practitioner.tsv")
        ),
        mue={
            m.code: m for m in parse_mue(_resource("mue_practitioner.tsv"), "mue_practitioner.tsv")
        },
        global_days=parse_global_days(_resource("global_days.tsv"), "global_days.tsv"),
        rules=rules,
        source_ptp=f"NCCI PTP practitioner {quarter} (curated illustrative subset)",
        source_mue=f"NCCI MUE practitioner {quarter} (curated illustrative subset)",
        source_global_days="MPFS global days 2025 (curated illustrative subset)",
    )


# --- CMS quarterly files ----------------------------------------------------------------------


def load_cms_ptp_file(path: Path) -> list[PtpEdit]:
    """Read a CMS practitioner PTP file exported as text (tab- or comma-separated).

    The CMS layout has a few title/copyright lines and a header, then rows with Column 1,
    Column 2, "* = in existence prior to 1996", effective date, deletion date (`*` = none),
    modifier indicator and the PTP edit rationale. Lines before the first row whose first two
    fields are codes are skipped.
    """
    edits: list[PtpEdit] = []
    for lineno, cols in _rows(path.read_text(encoding="utf-8", errors="replace")):
        if len(cols) < 6 or not (_CODE.match(cols[0].strip()) and _CODE.match(cols[1].strip())):
            continue
        where = f"{path.name}:{lineno}"
        deletion = cols[4].strip()
        edits.append(
            PtpEdit(
                column_1=cols[0].strip(),
                column_2=cols[1].strip(),
                effective=_date(cols[3], where),
                deleted=None if deletion in ("*", "") else _date(deletion, where),
                modifier_indicator=_choice(
                    cols[5], _MODIFIER_INDICATORS, "modifier indicator", where
                ),
                rationale=cols[6].strip() if len(cols) > 6 else "",
            )
        )
    if not edits:
        raise TableError(f"{path.name}: no PTP rows found (expected Column 1, Column 2, ...)")
    return edits


def load_cms_mue_file(path: Path) -> list[Mue]:
    """Read a CMS practitioner MUE table exported as text.

    Columns: HCPCS/CPT code, practitioner MUE value, MUE adjudication indicator (e.g.
    "2 Date of Service Edit: Policy"; only the leading digit is kept), MUE rationale.
    """
    out: list[Mue] = []
    for lineno, cols in _rows(path.read_text(encoding="utf-8", errors="replace")):
        if len(cols) < 3 or not _CODE.match(cols[0].strip()):
            continue
        where = f"{path.name}:{lineno}"
        try:
            value = int(cols[1].strip())
        except ValueError:
            raise TableError(f"{where}: MUE value {cols[1]!r} is not an integer") from None
        mai = cols[2].strip()[:1]
        out.append(Mue(cols[0].strip(), value, _choice(mai, _MAI, "MAI", where)))
    if not out:
        raise TableError(f"{path.name}: no MUE rows found (expected code, MUE value, MAI)")
    return out
