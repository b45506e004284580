"""ICD-10-CM from the CMS tabular XML that ships inside the `simple-icd-10-cm` package.

We read the package's data files directly (offline) instead of importing the package: its
import builds a Python object tree and takes ~5 s, while one pass with ElementTree takes ~1 s.
The build follows the package's semantics: a leaf code that carries (or inherits) a
7th-character table gets one child per 7th character (padded with `X`), kept only when the
CMS code list confirms the code exists. Leaves are billable.
"""

from __future__ import annotations

import bisect
import calendar
import importlib.util
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from model.codesets.curated import CodeSetDataError
from model.codesets.entry import EMPTY_MAPPING, ICD10CM, CodeEntry, clean_code, icd_display

_MONTHS = tuple(calendar.month_name[i] for i in range(1, 13))

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
class Group:
    """A chapter or block: not a code, but its notes apply to every code inside it."""

    id: str
    description: str
    excludes1: tuple[str, ...]
    chapter: str | None


@dataclass(slots=True)
class IcdData:
    """Everything the catalog keeps about ICD-10-CM."""

    release: str
    entries: dict[str, CodeEntry]
    children: dict[str, tuple[str, ...]]
    #: category key (3 chars) -> ids of its block and chapter (outermost last).
    containers: dict[str, tuple[str, ...]]
    groups: dict[str, Group]
    billable_count: int = 0
    restrictions: list[Restriction] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Restriction:
    """One row of `data/icd10cm_restrictions.tsv` (MCE-style sex and age edits)."""

    first: str
    last: str
    sex: str | None
    age_min: int | None
    age_max: int | None
    edit: str


@dataclass(slots=True)
class _Inherited:
    code_first: tuple[str, ...] = ()
    use_additional: tuple[str, ...] = ()
    code_also: tuple[str, ...] = ()
    seventh: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAPPING)
    manifestation: bool = False


def data_dir() -> Path:
    """Folder of the `simple_icd_10_cm` data files, found without importing the package."""
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise CodeSetDataError("the simple-icd-10-cm package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_restrictions() -> list[Restriction]:
    """Read and validate `data/icd10cm_restrictions.tsv`."""
    name = "icd10cm_restrictions.tsv"
    text = resources.files("model.codesets").joinpath("data", name).read_text(encoding="utf-8")
    lines = text.splitlines()
    header = lines[0].split("\t")
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


def _restriction_index(
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


def _texts(elem: ET.Element) -> tuple[str, ...]:
    return tuple(n.text.strip() for n in elem if n.text and n.text.strip())


def _release_name(xml_name: str) -> str:
    m = re.search(
        r"(January|February|March|April|May|June|July|August|September|October|"
        r"November|December)-(\d{1,2})-(\d{4})",
        xml_name,
    )
    if m is None:
        return xml_name
    month, day, year = m.groups()
    fiscal = int(year) + (1 if _MONTHS.index(month) >= 9 else 0)
    return f"{fiscal} ({month} {int(day)}, {year})"


class _Builder:
    def __init__(
        self, confirmed: set[str], limits: Mapping[str, tuple[str | None, int | None, int | None]]
    ):
        self.confirmed = confirmed
        self.limits = limits
        self.entries: dict[str, CodeEntry] = {}
        self.children: dict[str, list[str]] = {}
        self.containers: dict[str, tuple[str, ...]] = {}
        self.groups: dict[str, Group] = {}
        self.billable = 0

    def chapter(self, elem: ET.Element) -> None:
        number = (elem.findtext("name") or "").strip()
        chapter_id = f"chapter {number}"
        inherited = self._notes(elem, _Inherited())[1]
        self.groups[chapter_id] = Group(
            chapter_id, (elem.findtext("desc") or "").strip(), _texts_of(elem, "excludes1"), None
        )
        for section in elem.iterfind("section"):
            self.section(section, chapter_id, inherited)

    def section(self, elem: ET.Element, chapter_id: str, up: _Inherited) -> None:
        block_id = elem.get("id", "").strip().upper()
        own, inherited = self._notes(elem, up)
        description = (elem.findtext("desc") or "").strip()
        self.groups[block_id] = Group(block_id, description, own["excludes1"], chapter_id)
        is_range = "-" in block_id
        if is_range:
            self.entries[block_id] = CodeEntry(
                system=ICD10CM,
                code=block_id,
                description=description,
                billable=False,
                kind="block",
                inclusion_terms=own["includes"],
                excludes1=own["excludes1"],
                excludes2=own["excludes2"],
                code_first=inherited.code_first,
                use_additional=inherited.use_additional,
                code_also=inherited.code_also,
            )
        kids: list[str] = []
        for diag in elem.iterfind("diag"):
            key = clean_code(diag.findtext("name") or "")
            self.containers[key] = (block_id, chapter_id) if is_range else (chapter_id,)
            kids.append(self.diag(diag, block_id if is_range else None, inherited))
        if is_range:
            self.children[block_id] = kids

    def diag(self, elem: ET.Element, parent: str | None, up: _Inherited) -> str:
        key = clean_code(elem.findtext("name") or "")
        description = (elem.findtext("desc") or "").strip()
        own, inherited = self._notes(elem, up)
        if not inherited.manifestation and "classified elsewhere" in description.lower():
            inherited.manifestation = bool(inherited.code_first)
        kids = [self.diag(child, icd_display(key), inherited) for child in elem.iterfind("diag")]
        if not kids and inherited.seventh:
            padded = key.ljust(6, "X")
            for char, meaning in inherited.seventh.items():
                ext = padded + char
                if ext in self.confirmed:
                    kids.append(
                        self._add(
                            ext,
                            f"{description}, {meaning}",
                            icd_display(key),
                            "code",
                            {},
                            inherited,
                            billable=True,
                        )
                    )
        kind = "code" if not kids else ("category" if len(key) == 3 else "subcategory")
        code = self._add(key, description, parent, kind, own, inherited, billable=not kids)
        if kids:
            self.children[key] = kids
        return code

    def _add(
        self,
        key: str,
        description: str,
        parent: str | None,
        kind: str,
        own: Mapping[str, tuple[str, ...]],
        inh: _Inherited,
        *,
        billable: bool,
    ) -> str:
        sex, amin, amax = self.limits.get(key, (None, None, None))
        code = icd_display(key)
        self.entries[key] = CodeEntry(
            system=ICD10CM,
            code=code,
            description=description,
            billable=billable,
            parent=parent,
            kind=kind,
            inclusion_terms=own.get("inclusionTerm", ()) + own.get("includes", ()),
            excludes1=own.get("excludes1", ()),
            excludes2=own.get("excludes2", ()),
            code_first=inh.code_first,
            use_additional=inh.use_additional,
            code_also=inh.code_also,
            seventh_characters=inh.seventh,
            sex=sex,
            age_min=amin,
            age_max=amax,
            is_manifestation=inh.manifestation,
        )
        self.billable += billable
        return code

    @staticmethod
    def _notes(elem: ET.Element, up: _Inherited) -> tuple[dict[str, tuple[str, ...]], _Inherited]:
        own: dict[str, tuple[str, ...]] = {
            "excludes1": (),
            "excludes2": (),
            "includes": (),
            "inclusionTerm": (),
        }
        new = _Inherited(
            up.code_first, up.use_additional, up.code_also, up.seventh, up.manifestation
        )
        for child in elem:
            tag = child.tag
            if tag in own:
                own[tag] = own[tag] + _texts(child)
            elif tag == "codeFirst":
                new.code_first = _texts(child) + up.code_first
            elif tag == "useAdditionalCode":
                new.use_additional = _texts(child) + up.use_additional
            elif tag == "codeAlso":
                new.code_also = _texts(child) + up.code_also
            elif tag == "sevenChrDef":
                table: dict[str, str] = {}
                last = None
                for ext in child:
                    if ext.tag == "extension":
                        last = ext.get("char", "").upper()
                        table[last] = (ext.text or "").strip()
                    elif ext.tag == "note" and last is not None and ext.text:
                        table[last] = f"{table[last]}/{ext.text.strip()}"
                new.seventh = MappingProxyType(table)
        return own, new


def _texts_of(elem: ET.Element, tag: str) -> tuple[str, ...]:
    found = elem.find(tag)
    return _texts(found) if found is not None else ()


def load_icd10cm(folder: Path | None = None) -> IcdData:
    """Parse the tabular XML and code list into catalog entries (about 1 s)."""
    folder = folder or data_dir()
    xml_files = sorted(folder.glob("icd10c*-tabular-*.xml"))
    list_files = sorted(folder.glob("code-list-*.txt"))
    if not xml_files or not list_files:
        raise CodeSetDataError(f"no ICD-10-CM tabular XML or code list in {folder}")
    confirmed_text = list_files[-1].read_text(encoding="utf-8")
    confirmed = {line.split(" ")[0].strip().replace(".", "") for line in confirmed_text.split("\n")}
    confirmed.discard("")
    rules = load_restrictions()
    limits = _restriction_index([k for k in confirmed if "-" not in k], rules)
    root = ET.parse(xml_files[-1]).getroot()
    builder = _Builder(confirmed, limits)
    for chapter in root.iterfind("chapter"):
        builder.chapter(chapter)
    del root
    return IcdData(
        release=_release_name(xml_files[-1].name),
        entries=builder.entries,
        children={k: tuple(v) for k, v in builder.children.items()},
        containers=builder.containers,
        groups=builder.groups,
        billable_count=builder.billable,
        restrictions=rules,
    )
