"""Loaders for official code files that replace or extend our curated CPT/HCPCS tables.

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
import re
from collections.abc import Iterable
from pathlib import Path

from model.codesets.curated import CodeSetDataError
from model.codesets.entry import CODE_PATTERNS, CPT, HCPCS, CodeEntry, clean_code, parse_date


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
