"""CPT and HCPCS Level II entries: our curated tables and loaders for official files.

Curated tables (`data/*_curated.tsv`, `data/*_retired.tsv`) carry short plain-language labels
written by this project (`official=False`). CPT descriptors are AMA-copyrighted and never ship
here; a licensed user points `load_cpt_file` at their own file to replace the labels.

Accepted files
--------------
* **Licensed CPT** (`CHARTCODER_CPT_FILE`): CSV (comma or tab), one code per row, columns
  `code, descriptor`. A header row is optional (`code`/`cpt`/`hcpcs` + `descriptor`/
  `description`/`long description`); optional `effective` and `terminated` date columns are read
  when the header names them. Rows replace our labels (`official=True`); codes we do not curate
  are added.
* **CMS quarterly HCPCS** (`CHARTCODER_HCPCS_FILE`): the CSV export of the CMS "HCPC20xx_..._ANWEB"
  spreadsheet, with header columns `HCPC`, `LONG DESCRIPTION`, `SHORT DESCRIPTION`, `ADD DT`,
  `TERM DT` (others such as `SEQNUM`, `RECID`, `ACT EFF DT` are optional). Continuation rows
  (same HCPC, `RECID` 4 or a later `SEQNUM`) are joined into one description; modifier rows
  (two-character codes, `RECID` 7/8) are skipped. Dates may be `YYYYMMDD`, `YYYY-MM-DD` or
  `M/D/YYYY`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from model.codesets.entry import CODE_PATTERNS, CPT, HCPCS, CodeEntry, clean_code, parse_date

logger = logging.getLogger(__name__)

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


def cpt_section(code: str) -> str:
    """Coarse category of a CPT code from its numeric range (for codes we do not curate)."""
    if code.endswith("F"):
        return "performance_measure"
    if code.endswith(("T", "U")):
        return "other"
    n = int(code)
    if n < 10000:
        return "anesthesia"
    if n < 70000:
        return "surgery"
    if n < 80000:
        return "imaging"
    if n < 90000:
        return "laboratory"
    if 99202 <= n <= 99499:
        return "evaluation_management"
    return "medicine"


# ----------------------------------------------------------------------------------------------
# Official files


def _open_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """Read a CSV/TSV file (delimiter sniffed) into a header guess and rows."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    if not text.strip():
        raise CodeSetDataError(f"{path}: file is empty")
    first = text.splitlines()[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = [
        r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)
    ]
    return rows[0], rows[1:]


def _norm_header(cell: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", cell.lower()).strip()


def load_cpt_file(path: str | Path) -> list[CodeEntry]:
    """Read a licensed CPT file (`code, descriptor`) into official entries.

    Raises CodeSetDataError naming the line and value for malformed rows.
    """
    path = Path(path)
    if not path.is_file():
        raise CodeSetDataError(f"CPT file {path} does not exist")
    first, rest = _open_table(path)
    header = [_norm_header(c) for c in first]
    code_col, desc_col = 0, 1
    eff_col = term_col = None
    if first and not CODE_PATTERNS[CPT].match(clean_code(first[0])):
        code_col = _find_col(header, ("code", "cpt", "cpt code", "hcpcs"), path)
        desc_col = _find_col(
            header,
            ("descriptor", "description", "long description", "long descriptor", "label"),
            path,
        )
        eff_col = _maybe_col(header, ("effective", "effective date", "add dt"))
        term_col = _maybe_col(header, ("terminated", "termination date", "term dt"))
        body = list(enumerate(rest, start=2))
    else:
        body = list(enumerate([first, *rest], start=1))
    entries: dict[str, CodeEntry] = {}
    for line, row in body:
        where = f"{path} line {line}"
        if len(row) <= max(code_col, desc_col):
            raise CodeSetDataError(f"{where}: expected columns code, descriptor; got {row!r}")
        code = clean_code(row[code_col])
        if not CODE_PATTERNS[CPT].match(code):
            raise CodeSetDataError(f"{where}: code {row[code_col]!r} is not a CPT code")
        descriptor = row[desc_col].strip()
        if not descriptor:
            raise CodeSetDataError(f"{where}: descriptor of {code} is empty")
        entries[code] = CodeEntry(
            system=CPT,
            code=code,
            description=descriptor,
            billable=True,
            official=True,
            category=cpt_section(code),
            effective=_date_cell(row, eff_col, where, "effective"),
            terminated=_date_cell(row, term_col, where, "terminated"),
        )
    if not entries:
        raise CodeSetDataError(f"CPT file {path} holds no codes")
    return list(entries.values())


def load_hcpcs_file(path: str | Path) -> list[CodeEntry]:
    """Read the CSV export of the CMS quarterly HCPCS file into official entries."""
    path = Path(path)
    if not path.is_file():
        raise CodeSetDataError(f"HCPCS file {path} does not exist")
    first, rest = _open_table(path)
    header = [_norm_header(c) for c in first]
    code_col = _find_col(header, ("hcpc", "hcpcs", "code"), path)
    long_col = _find_col(header, ("long description", "description"), path)
    short_col = _maybe_col(header, ("short description",))
    add_col = _maybe_col(header, ("add dt", "add date"))
    term_col = _maybe_col(header, ("term dt", "termination date"))
    recid_col = _maybe_col(header, ("recid", "rec id"))
    seq_col = _maybe_col(header, ("seqnum", "seq num"))

    parts: dict[str, list[tuple[str, str]]] = {}
    first_row: dict[str, tuple[int, list[str]]] = {}
    for line, row in enumerate(rest, start=2):
        where = f"{path} line {line}"
        if len(row) <= max(code_col, long_col):
            raise CodeSetDataError(f"{where}: too few columns for HCPC and LONG DESCRIPTION")
        code = clean_code(row[code_col])
        recid = row[recid_col].strip() if recid_col is not None and recid_col < len(row) else ""
        if recid in {"7", "8"} or len(code) == 2:
            continue  # modifiers
        if not CODE_PATTERNS["HCPCS"].match(code):
            raise CodeSetDataError(f"{where}: HCPC {row[code_col]!r} is not a HCPCS Level II code")
        seq = row[seq_col].strip() if seq_col is not None and seq_col < len(row) else ""
        parts.setdefault(code, []).append((seq.zfill(5), row[long_col].strip()))
        if code not in first_row and recid != "4":
            first_row[code] = (line, row)
    entries: list[CodeEntry] = []
    for code, pieces in parts.items():
        if code not in first_row:
            raise CodeSetDataError(f"{path}: HCPC {code} has continuation rows only")
        line, row = first_row[code]
        where = f"{path} line {line}"
        description = " ".join(p for _, p in sorted(pieces) if p)
        if not description and short_col is not None and short_col < len(row):
            description = row[short_col].strip()
        if not description:
            raise CodeSetDataError(f"{where}: HCPC {code} has no description")
        entries.append(
            CodeEntry(
                system=HCPCS,
                code=code,
                description=description,
                billable=True,
                official=True,
                category=_hcpcs_category(code),
                effective=_date_cell(row, add_col, where, "ADD DT"),
                terminated=_date_cell(row, term_col, where, "TERM DT"),
            )
        )
    if not entries:
        raise CodeSetDataError(f"HCPCS file {path} holds no codes")
    return entries


def _hcpcs_category(code: str) -> str:
    return {
        "A": "supply",
        "E": "dme",
        "G": "other",
        "J": "drug",
        "K": "dme",
        "L": "orthotic",
        "Q": "other",
    }.get(code[0], "other")


def _find_col(header: list[str], names: Iterable[str], path: Path) -> int:
    col = _maybe_col(header, names)
    if col is None:
        raise CodeSetDataError(f"{path}: header {header} lacks a column named one of {list(names)}")
    return col


def _maybe_col(header: list[str], names: Iterable[str]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _date_cell(row: list[str], col: int | None, where: str, name: str) -> dt.date | None:
    if col is None or col >= len(row):
        return None
    try:
        return parse_date(row[col])
    except ValueError as exc:
        raise CodeSetDataError(f"{where}: {name}: {exc}") from exc


def merge(base: list[CodeEntry], official: list[CodeEntry]) -> list[CodeEntry]:
    """Official entries replace curated ones code by code; curated metadata is kept."""
    by_code = {e.code: e for e in base}
    for entry in official:
        old = by_code.get(entry.code)
        if old is not None:
            entry = _with_curated_metadata(entry, old)
        by_code[entry.code] = entry
    return list(by_code.values())


def _with_curated_metadata(entry: CodeEntry, old: CodeEntry) -> CodeEntry:
    return entry._replace(
        category=old.category or entry.category,
        em_family=old.em_family,
        terminated=entry.terminated or old.terminated,
        effective=entry.effective or old.effective,
    )
