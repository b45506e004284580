"""`Catalog`: one lookup, validation and search API over ICD-10-CM, CPT and HCPCS Level II.

`get_catalog()` builds the catalog once per process (lazily, on first call; about 1-2 s, the
ICD-10-CM tabular parse dominates) and returns the same object afterwards. The search index is
built on the first `search` call (about 1 s) and is then a few milliseconds per query.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from model.codesets import curated, official
from model.codesets.entry import (
    CODE_PATTERNS,
    CPT,
    HCPCS,
    ICD10CM,
    SYSTEMS,
    CodeEntry,
    Problem,
    SearchHit,
    UnknownCodeError,
    canonical_system,
    clean_code,
)
from model.codesets.icd10cm import IcdData, load_icd10cm
from model.codesets.icd10cm_rules import note_refs, ref_matches
from model.codesets.search import SearchIndex, load_synonyms

logger = logging.getLogger(__name__)

CPT_FILE_ENV = "CHARTCODER_CPT_FILE"
HCPCS_FILE_ENV = "CHARTCODER_HCPCS_FILE"
CURATED_RELEASE = "chartcoder-curated-2026"

_FORMAT_HINT = {
    ICD10CM: "a letter, two characters, then up to four more (e.g. E11.9, S72.001A)",
    CPT: "five characters: four digits then a digit, F, T or U (e.g. 99213, 3044F)",
    HCPCS: "a letter A-V then four digits (e.g. G0439, J3420)",
}


class Catalog:
    """Code sets with lookup, validation, hierarchy, Excludes1 checks and ranked search.

    Every method accepts codes in any case, with or without the ICD-10-CM dot, and system
    names in display form (`"ICD-10-CM"`, `"CPT"`, `"HCPCS"`) or common aliases (`"icd10cm"`).
    """

    def __init__(
        self,
        icd: IcdData,
        cpt: Sequence[CodeEntry],
        hcpcs: Sequence[CodeEntry],
        release: dict[str, str],
    ) -> None:
        self._icd = icd
        self._codes: dict[str, dict[str, CodeEntry]] = {
            ICD10CM: icd.entries,
            CPT: {e.code: e for e in cpt},
            HCPCS: {e.code: e for e in hcpcs},
        }
        self._release = dict(release)
        self._lock = threading.Lock()
        self._index: SearchIndex | None = None
        self._positions: list[CodeEntry] = []
        self._masks: dict[str, npt.NDArray[np.bool_]] = {}
        self._refs: dict[str, tuple[tuple[str, str], ...]] = {}

    # -- lookup -----------------------------------------------------------------------------

    @property
    def release(self) -> dict[str, str]:
        """Release of each code system, e.g. `{"ICD-10-CM": "2026 (April 1, 2026)", ...}`."""
        return dict(self._release)

    def counts(self, billable_only: bool = True) -> dict[str, int]:
        """Number of entries per system."""
        return {s: sum(1 for _ in self.entries(s, billable_only)) for s in SYSTEMS}

    def get(self, system: str, code: str) -> CodeEntry | None:
        """The entry for `code`, or None when the system or code is unknown."""
        name = canonical_system(system)
        if name is None:
            return None
        return self._codes[name].get(clean_code(code))

    def normalize(self, system: str, code: str) -> str:
        """Display form of a known code (`"e119"` -> `"E11.9"`); raises UnknownCodeError."""
        name = self._system(system)
        entry = self._codes[name].get(clean_code(code))
        if entry is None:
            raise UnknownCodeError(name, code, f"{code!r} is not a known {name} code")
        return entry.code

    def entries(self, system: str, billable_only: bool = True) -> Iterator[CodeEntry]:
        """All entries of a system in release order (billable codes only by default)."""
        for entry in self._codes[self._system(system)].values():
            if entry.billable or not billable_only:
                yield entry

    def children(self, code: str) -> tuple[str, ...]:
        """Direct ICD-10-CM children (display codes) of a block, category or subcategory."""
        return self._icd.children.get(self._icd_key(code), ())

    def billable_descendants(self, code: str) -> tuple[str, ...]:
        """Billable ICD-10-CM codes below `code` (empty for a billable leaf)."""
        out: list[str] = []
        stack = list(reversed(self.children(code)))
        while stack:
            child = stack.pop()
            key = clean_code(child)
            entry = self._icd.entries[key]
            if entry.billable:
                out.append(entry.code)
            stack.extend(reversed(self._icd.children.get(key, ())))
        return tuple(out)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """ICD-10-CM parents of `code`, nearest first, up to its block (display codes)."""
        key = self._icd_key(code)
        out: list[str] = []
        parent = self._icd.entries[key].parent
        while parent is not None:
            out.append(parent)
            parent = self._icd.entries[clean_code(parent)].parent
        return tuple(out)

    # -- validation -------------------------------------------------------------------------

    def validate(
        self,
        system: str,
        code: str,
        date_of_service: dt.date | None = None,
        *,
        sex: str | None = None,
        age: int | None = None,
    ) -> list[Problem]:
        """Problems that stop `code` from being reported; `[]` when it is valid.

        `date_of_service` checks effective and termination dates. `sex` ("F"/"M") and `age`
        (years), when given, check the ICD-10-CM MCE-style sex and age edits.
        """
        name = canonical_system(system)
        if name is None:
            return [
                Problem(
                    "unknown_system",
                    f"unknown code system {system!r}; use one of {', '.join(SYSTEMS)}",
                )
            ]
        key = clean_code(code)
        if not CODE_PATTERNS[name].match(key):
            return [
                Problem(
                    "invalid_format",
                    f"{code!r} is not shaped like a {name} code: expected {_FORMAT_HINT[name]}",
                )
            ]
        entry = self._codes[name].get(key)
        if entry is None:
            hint = ""
            if name != ICD10CM and self._release[name] == CURATED_RELEASE:
                hint = f" (only a curated {name} set is loaded; see {_env_for(name)})"
            return [
                Problem(
                    "unknown_code",
                    f"{code!r} is not a {name} code in release {self._release[name]}{hint}",
                )
            ]
        problems: list[Problem] = []
        if not entry.billable:
            kids = self.billable_descendants(entry.code)
            problems.append(
                Problem(
                    "not_billable",
                    f"{entry.code} is a header ({entry.kind}); report one of its {len(kids)} "
                    "billable codes",
                    kids,
                )
            )
        if date_of_service is not None:
            if entry.effective is not None and date_of_service < entry.effective:
                problems.append(
                    Problem(
                        "not_yet_effective",
                        f"{entry.code} takes effect on "
                        f"{entry.effective.isoformat()}, after "
                        f"{date_of_service.isoformat()}",
                    )
                )
            if entry.terminated is not None and date_of_service > entry.terminated:
                problems.append(
                    Problem(
                        "terminated",
                        f"{entry.code} was terminated on "
                        f"{entry.terminated.isoformat()}, before "
                        f"{date_of_service.isoformat()}",
                    )
                )
        if sex is not None and entry.sex is not None and sex.upper() != entry.sex:
            problems.append(
                Problem(
                    "sex_mismatch",
                    f"{entry.code} is for {entry.sex} patients only; patient sex is {sex.upper()}",
                )
            )
        if age is not None and not _age_ok(entry, age):
            problems.append(
                Problem(
                    "age_mismatch",
                    f"{entry.code} is for ages "
                    f"{entry.age_min}-{entry.age_max}; patient age is {age}",
                )
            )
        return problems

    def excludes1_conflict(self, code_a: str, code_b: str) -> bool:
        """True when either ICD-10-CM code (or an ancestor, block or chapter) lists the other
        (or one of its ancestors) in an Excludes1 note: the pair must not be reported together.
        """
        a, b = self._icd_key(code_a), self._icd_key(code_b)
        if a == b:
            return False
        return self._excludes(a, b) or self._excludes(b, a)

    def _excludes(self, source: str, target: str) -> bool:
        for holder in self._chain(source):
            for ref in self._refs_of(holder):
                if ref_matches(ref, target):
                    return True
        return False

    def _chain(self, key: str) -> list[str]:
        chain = [key, *(clean_code(p) for p in self.ancestors(key))]
        chain.extend(g for g in self._icd.containers.get(chain[-1][:3], ()) if g not in chain)
        return chain

    def _refs_of(self, holder: str) -> tuple[tuple[str, str], ...]:
        refs = self._refs.get(holder)
        if refs is None:
            entry = self._icd.entries.get(holder)
            group = self._icd.groups.get(holder)
            notes: tuple[str, ...] = entry.excludes1 if entry is not None else ()
            if group is not None and (entry is None or entry.kind != "block"):
                notes += group.excludes1  # a chapter, or a one-category block such as B20
            refs = tuple(dict.fromkeys(r for note in notes for r in note_refs(note)))
            self._refs[holder] = refs
        return refs

    # -- search -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        system: str | None = None,
        limit: int = 10,
        billable_only: bool = False,
    ) -> list[SearchHit]:
        """Entries ranked by relevance of descriptions, inclusion terms and labels to `query`.

        A query that is itself a known code returns that code first.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        systems = SYSTEMS if system is None else (self._system(system),)
        index = self._search_index()
        mask = self._mask(systems, billable_only)
        found = index.search(query, mask, limit)
        hits = [SearchHit(self._positions[d], s) for d, s in found]
        exact = self._exact(query, systems, billable_only)
        if exact:
            top = max((h.score for h in hits), default=0.0) + 1.0
            hits = [SearchHit(e, top) for e in exact] + [h for h in hits if h.entry not in exact]
        return hits[:limit]

    def _exact(self, query: str, systems: Sequence[str], billable_only: bool) -> list[CodeEntry]:
        """Entries whose code is the query; the one written exactly as typed comes first
        (`G0439` is HCPCS G0439 before ICD-10-CM G04.39)."""
        key = clean_code(query)
        found = [
            e
            for name in systems
            if (e := self._codes[name].get(key)) is not None and (e.billable or not billable_only)
        ]
        typed = query.strip().upper()
        return sorted(found, key=lambda e: e.code != typed)

    def _search_index(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                self._positions = [e for name in SYSTEMS for e in self._codes[name].values()]
                self._index = SearchIndex(self._positions, load_synonyms())
                systems = np.array([SYSTEMS.index(e.system) for e in self._positions])
                for i, name in enumerate(SYSTEMS):
                    self._masks[name] = systems == i
                self._masks["billable"] = np.array([e.billable for e in self._positions])
            return self._index

    def _mask(self, systems: Sequence[str], billable_only: bool) -> npt.NDArray[np.bool_] | None:
        if len(systems) == len(SYSTEMS) and not billable_only:
            return None
        mask = np.zeros(len(self._positions), dtype=bool)
        for name in systems:
            mask |= self._masks[name]
        if billable_only:
            mask &= self._masks["billable"]
        return mask

    # -- helpers ----------------------------------------------------------------------------

    def _system(self, system: str) -> str:
        name = canonical_system(system)
        if name is None:
            raise UnknownCodeError(
                system,
                "",
                f"unknown code system {system!r}; use one of {', '.join(SYSTEMS)}",
                code_="unknown_system",
            )
        return name

    def _icd_key(self, code: str) -> str:
        key = clean_code(code)
        if key not in self._icd.entries:
            raise UnknownCodeError(ICD10CM, code, f"{code!r} is not a known ICD-10-CM code")
        return key


def _age_ok(entry: CodeEntry, age: int) -> bool:
    if entry.age_min is not None and age < entry.age_min:
        return False
    return entry.age_max is None or age <= entry.age_max


def _env_for(system: str) -> str:
    return CPT_FILE_ENV if system == CPT else HCPCS_FILE_ENV


def build_catalog(
    cpt_file: str | Path | None = None, hcpcs_file: str | Path | None = None
) -> Catalog:
    """Build a fresh catalog (no caching). Files, when given, replace our curated labels."""
    icd = load_icd10cm()
    cpt = curated.curated_cpt()
    hcpcs = curated.curated_hcpcs()
    release = {ICD10CM: icd.release, CPT: CURATED_RELEASE, HCPCS: CURATED_RELEASE}
    if cpt_file is not None:
        cpt = official.merge(cpt, official.load_cpt_file(cpt_file))
        release[CPT] = f"licensed file {Path(cpt_file).name}"
    if hcpcs_file is not None:
        hcpcs = official.merge(hcpcs, official.load_hcpcs_file(hcpcs_file))
        release[HCPCS] = f"CMS file {Path(hcpcs_file).name} + {CURATED_RELEASE}"
    logger.debug("code sets loaded: %s", release)
    return Catalog(icd, cpt, hcpcs, release)


_CACHE: dict[tuple[str | None, str | None], Catalog] = {}
_CACHE_LOCK = threading.Lock()


def get_catalog(
    cpt_file: str | Path | None = None, hcpcs_file: str | Path | None = None
) -> Catalog:
    """The process-wide catalog, built on first call.

    `cpt_file` / `hcpcs_file` default to the `CHARTCODER_CPT_FILE` / `CHARTCODER_HCPCS_FILE`
    environment variables (read now, not at import); each distinct pair is built once.
    """
    cpt = str(cpt_file) if cpt_file is not None else (os.environ.get(CPT_FILE_ENV) or None)
    hcpcs = str(hcpcs_file) if hcpcs_file is not None else (os.environ.get(HCPCS_FILE_ENV) or None)
    key = (cpt, hcpcs)
    with _CACHE_LOCK:
        catalog = _CACHE.get(key)
        if catalog is None:
            catalog = build_catalog(cpt, hcpcs)
            _CACHE[key] = catalog
        return catalog
