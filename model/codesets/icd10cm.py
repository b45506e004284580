"""ICD-10-CM from the CMS tabular XML that ships inside the `simple-icd-10-cm` package.

We read the package's data files directly (offline) instead of importing the package: its
import builds a Python object tree and takes ~5 s. The build follows the package's semantics:
a leaf code that carries (or inherits) a 7th-character table gets one child per 7th character
(padded with `X`), kept only when the CMS code list confirms the code exists. Leaves are
billable. (The package itself loses five billable categories whose code equals their block's
id: B20, F99, P84, R99, Z66; we keep them.)

The parsed rows are cached with `marshal` under `$CHARTCODER_CACHE_DIR` (default
`$XDG_CACHE_HOME/chartcoder`, else `~/.cache/chartcoder`), keyed by the source files and this
module's format version, so later processes skip the XML parse. A cache that cannot be read
or written is ignored (logged); set `CHARTCODER_CACHE_DIR=off` to disable it.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.util
import logging
import marshal
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from model.codesets.curated import CodeSetDataError
from model.codesets.entry import ICD10CM, CodeEntry, clean_code, icd_display
from model.codesets.icd10cm_rules import Limits, load_restrictions, restriction_index

logger = logging.getLogger(__name__)

CACHE_ENV = "CHARTCODER_CACHE_DIR"
_FORMAT_VERSION = "icd10cm-rows-2"
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NO_LIMITS: Limits = (None, None, None)
#: Shared "no 7th-character table" value (one object, so marshal stores it once).
_EMPTY: dict[str, str] = {}
#: Inherited notes above a chapter: code_first, use_additional, code_also, 7th table, manifest.
_ROOT: tuple[Any, ...] = ((), (), (), _EMPTY, False)


@dataclass(frozen=True, slots=True)
class Group:
    """A chapter or block: not always a code, but its notes apply to every code inside it."""

    id: str
    description: str
    excludes1: tuple[str, ...]
    chapter: str | None


@dataclass(slots=True)
class IcdData:
    """Everything the catalog keeps about ICD-10-CM."""

    release: str
    #: undotted key -> entry, in tabular (pre-)order.
    entries: dict[str, CodeEntry]
    #: undotted key -> display codes of direct children.
    children: dict[str, tuple[str, ...]]
    #: category key (3 chars) -> ids of its block (when a range) and chapter, outermost last.
    containers: dict[str, tuple[str, ...]]
    groups: dict[str, Group]
    billable_count: int


def data_dir() -> Path:
    """Folder of the `simple_icd_10_cm` data files, found without importing the package."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise CodeSetDataError("the simple-icd-10-cm package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _release_name(xml_name: str) -> str:
    m = re.search(r"(" + "|".join(_MONTHS) + r")-(\d{1,2})-(\d{4})", xml_name)
    if m is None:
        return xml_name
    month, day, year = m.groups()
    fiscal = int(year) + (1 if _MONTHS.index(month) >= 9 else 0)
    return f"{fiscal} ({month} {int(day)}, {year})"


def _texts(elem: ET.Element) -> tuple[str, ...]:
    return tuple(t for t in ((n.text or "").strip() for n in elem) if t)


class _Builder:
    """One pass over the XML producing rows in `CodeEntry` field order.

    Rows are plain tuples (marshal-able, so the cache can store them); 7th-character tables
    are plain dicts shared by every code under the node that defines them: treat them as
    read-only.
    """

    def __init__(self, confirmed: set[str], limits: Mapping[str, Limits]) -> None:
        self.confirmed = confirmed
        self.limits = limits
        self.rows: dict[str, tuple[Any, ...] | None] = {}
        self.children: dict[str, tuple[str, ...]] = {}
        self.containers: dict[str, tuple[str, ...]] = {}
        self.groups: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {}
        self.billable = 0

    def chapter(self, elem: ET.Element) -> None:
        number = (elem.findtext("name") or "").strip()
        chapter_id = f"chapter {number}"
        desc, own, inherited, subs = self._read(elem, ())
        self.groups[chapter_id] = (chapter_id, desc, own["excludes1"], None)
        for section in subs:
            if section.tag == "section":
                self.section(section, chapter_id, inherited)

    def section(self, elem: ET.Element, chapter_id: str, up: tuple[Any, ...]) -> None:
        block_id = elem.get("id", "").strip().upper()
        desc, own, inherited, subs = self._read(elem, up)
        self.groups[block_id] = (block_id, desc, own["excludes1"], chapter_id)
        is_range = "-" in block_id
        if is_range:
            self.rows[block_id] = None  # keep pre-order
        kids: list[str] = []
        for diag in subs:
            key = clean_code(diag.findtext("name") or "")
            self.containers[key] = (block_id, chapter_id) if is_range else (chapter_id,)
            kids.append(self.diag(diag, block_id if is_range else None, inherited))
        if is_range:
            self.children[block_id] = tuple(kids)
            self._row(block_id, block_id, desc, None, "block", own, inherited, False)

    def diag(self, elem: ET.Element, parent: str | None, up: tuple[Any, ...]) -> str:
        key = clean_code(elem.findtext("name") or "")
        code = icd_display(key)
        desc, own, inherited, subs = self._read(elem, up)
        if not inherited[4] and inherited[0] and "classified elsewhere" in desc.lower():
            inherited = (*inherited[:4], True)
        self.rows[key] = None  # keep pre-order: parents before children
        kids = [self.diag(child, code, inherited) for child in subs]
        seventh: dict[str, str] = inherited[3]
        if not kids and seventh:
            padded = key.ljust(6, "X")
            for char, meaning in seventh.items():
                ext = padded + char
                if ext in self.confirmed:
                    text = f"{desc}, {meaning}"
                    kids.append(
                        self._row(ext, icd_display(ext), text, code, "code", {}, inherited, True)
                    )
        kind = "code" if not kids else ("category" if len(key) == 3 else "subcategory")
        if kids:
            self.children[key] = tuple(kids)
        return self._row(key, code, desc, parent, kind, own, inherited, not kids)

    def _row(
        self,
        key: str,
        code: str,
        desc: str,
        parent: str | None,
        kind: str,
        own: Mapping[str, tuple[str, ...]],
        inh: tuple[Any, ...],
        billable: bool,
    ) -> str:
        sex, amin, amax = self.limits.get(key, _NO_LIMITS)
        self.rows[key] = (
            ICD10CM, code, desc, billable, parent, kind,
            own.get("inclusionTerm", ()) + own.get("includes", ()),
            own.get("excludes1", ()), own.get("excludes2", ()),
            inh[0], inh[1], inh[2], inh[3],
            None, None, True, sex, amin, amax, None, None, inh[4],
        )  # fmt: skip
        self.billable += billable
        return code

    def _read(
        self, elem: ET.Element, up: tuple[Any, ...]
    ) -> tuple[str, dict[str, tuple[str, ...]], tuple[Any, ...], list[ET.Element]]:
        """Description, own notes, inherited notes and child elements of one node.

        Inherited notes: (code_first, use_additional, code_also, seventh table, manifestation).
        """
        code_first, use_additional, code_also, seventh, manifestation = up or _ROOT
        own: dict[str, tuple[str, ...]] = {}
        desc = ""
        subs: list[ET.Element] = []
        for child in elem:
            tag = child.tag
            if tag in ("diag", "section"):
                subs.append(child)
            elif tag == "desc":
                desc = (child.text or "").strip()
            elif tag in ("excludes1", "excludes2", "includes", "inclusionTerm"):
                own[tag] = own.get(tag, ()) + _texts(child)
            elif tag == "codeFirst":
                code_first = _texts(child) + code_first
            elif tag == "useAdditionalCode":
                use_additional = _texts(child) + use_additional
            elif tag == "codeAlso":
                code_also = _texts(child) + code_also
            elif tag == "sevenChrDef":
                table: dict[str, str] = {}
                last = None
                for ext in child:
                    if ext.tag == "extension":
                        last = ext.get("char", "").upper()
                        table[last] = (ext.text or "").strip()
                    elif ext.tag == "note" and last is not None and ext.text:
                        table[last] = f"{table[last]}/{ext.text.strip()}"
                seventh = table
        own.setdefault("excludes1", ())
        return desc, own, (code_first, use_additional, code_also, seventh, manifestation), subs


def _source_files(folder: Path) -> tuple[Path, Path]:
    xml_files = sorted(folder.glob("icd10c*-tabular-*.xml"))
    list_files = sorted(folder.glob("code-list-*.txt"))
    if not xml_files or not list_files:
        raise CodeSetDataError(f"no ICD-10-CM tabular XML or code list in {folder}")
    return xml_files[-1], list_files[-1]


def _parse(xml_path: Path, list_path: Path) -> dict[str, Any]:
    confirmed = {
        line.split(" ")[0].strip().replace(".", "")
        for line in list_path.read_text(encoding="utf-8").split("\n")
    }
    confirmed.discard("")
    limits = restriction_index([k for k in confirmed if "-" not in k], load_restrictions())
    root = ET.parse(xml_path).getroot()
    builder = _Builder(confirmed, limits)
    for chapter in root.iterfind("chapter"):
        builder.chapter(chapter)
    missing = [k for k, row in builder.rows.items() if row is None]
    if missing:
        raise CodeSetDataError(f"{xml_path.name}: codes without data: {missing[:5]}")
    return {
        "format": _FORMAT_VERSION,
        "release": _release_name(xml_path.name),
        "rows": builder.rows,
        "children": builder.children,
        "containers": builder.containers,
        "groups": list(builder.groups.values()),
        "billable": builder.billable,
    }


def _materialize(raw: dict[str, Any]) -> IcdData:
    make = CodeEntry._make
    return IcdData(
        release=raw["release"],
        entries={key: make(row) for key, row in raw["rows"].items()},
        children=raw["children"],
        containers=raw["containers"],
        groups={g[0]: Group(*g) for g in raw["groups"]},
        billable_count=raw["billable"],
    )


def _cache_path(xml_path: Path, list_path: Path) -> Path | None:
    setting = os.environ.get(CACHE_ENV, "")
    if setting.lower() == "off":
        return None
    if setting:
        folder = Path(setting)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "chartcoder"
    digest = hashlib.sha256(_FORMAT_VERSION.encode())
    for path in (xml_path, list_path):
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    rules = resources.files("model.codesets").joinpath("data", "icd10cm_restrictions.tsv")
    digest.update(rules.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return folder / f"icd10cm-{digest.hexdigest()[:16]}.marshal"


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        raw = marshal.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError) as exc:
        logger.warning("ignoring unreadable ICD-10-CM cache %s: %s", path, exc)
        return None
    if not isinstance(raw, dict) or raw.get("format") != _FORMAT_VERSION:
        return None
    return raw


def _write_cache(path: Path, raw: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".icd10cm-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(marshal.dumps(raw))
        os.replace(tmp, path)
    except OSError as exc:
        logger.warning("could not write ICD-10-CM cache %s: %s", path, exc)


def load_icd10cm(folder: Path | None = None, *, use_cache: bool = True) -> IcdData:
    """ICD-10-CM entries from the package data (about 1 s from the XML, 0.3 s from cache)."""
    xml_path, list_path = _source_files(folder or data_dir())
    cache = _cache_path(xml_path, list_path) if use_cache else None
    # ~500k small tuples: the cyclic GC would rescan them many times over while they are built.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        raw = _read_cache(cache) if cache is not None else None
        if raw is None:
            raw = _parse(xml_path, list_path)
            if cache is not None:
                _write_cache(cache, raw)
        return _materialize(raw)
    finally:
        if gc_was_enabled:
            gc.enable()
