"""The phrase dictionary: every way the code sets (and the project's synonym list) name a code.

Built once at training time from the catalog and saved inside the model artifact, so serving
never rebuilds it. ICD-10-CM conventions used here: text in parentheses holds nonessential
modifiers (a variant drops it), text in square brackets holds synonyms, and a header code's
wording is attached to its default billable child (the "unspecified" child where one exists).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from model.v1.tokens import normalize_phrase

#: Where a phrase came from; kept as a small integer feature.
SOURCES: dict[str, int] = {"description": 0, "inclusion": 1, "synonym": 2, "header": 3, "label": 4}

_PARENS = re.compile(r"\([^)]*\)")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_BRACKET_AFTER_WORD = re.compile(r"(\w+)\s*\[([^\]]*)\]")


@dataclass(frozen=True, slots=True)
class Phrase:
    system: str
    code: str
    tokens: tuple[str, ...]
    source: int


def _variants(text: str) -> Iterator[str]:
    """The wording itself, without nonessential modifiers, and with bracketed synonyms swapped in.

    "Unspecified injury of ascending [right] colon" also yields "... of right colon"; a bracket
    group stands alone only when it is a multi-word synonym.
    """
    yield text
    stripped = _BRACKETS.sub(" ", _PARENS.sub(" ", text))
    if stripped != text:
        yield stripped
    for match in _BRACKET_AFTER_WORD.finditer(text):
        swapped = text[: match.start()] + match.group(2) + text[match.end() :]
        yield _BRACKETS.sub(" ", swapped)
        if len(match.group(2).split()) >= 2:
            yield match.group(2)
    for group in re.findall(r"\(([^)]*)\)", text):
        # "Essential (primary) hypertension": the head with the modifier in front.
        head = _PARENS.sub(" ", text).split(",")[0]
        yield f"{group} {head}"


def synonym_rows() -> list[tuple[str, str]]:
    """(code, phrase) rows from `data/synonyms.tsv`, validated for shape on load."""
    rows: list[tuple[str, str]] = []
    path = resources.files("model.v1").joinpath("data/synonyms.tsv")
    with path.open(encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(
                    f"synonyms.tsv line {lineno}: expected 'code<TAB>phrase', got {row!r}"
                )
            rows.append((row[0].strip().upper(), row[1].strip()))
    return rows


def synonym_system(catalog: Any, code: str) -> str:
    """The code system a synonyms.tsv code belongs to. ICD-10-CM codes are written with their
    dot (or have 3 characters); a letter and four digits is HCPCS Level II when the catalog has
    it (G0439 is HCPCS, not ICD-10-CM G04.39); five digits are CPT."""
    if code[:1].isdigit():
        return "CPT" if catalog.get("CPT", code) else "HCPCS"
    if "." not in code and len(code) == 5 and catalog.get("HCPCS", code):
        return "HCPCS"
    if catalog.get("ICD-10-CM", code):
        return "ICD-10-CM"
    return "HCPCS"


_DEFAULT_WORDS = re.compile(r"\b(?:without|not|uncomplicated|initial encounter)\b")
_WITH = re.compile(r"\bwith\b")


def default_billable_child(children: list[tuple[str, str]]) -> str | None:
    """Pick the child a header's wording rolls to: among its 'unspecified' children if it has
    any (else all of them), the one the classification's defaults describe (a condition not
    stated to have a complication or qualifier is coded without it: G43.0 "migraine without
    aura" -> G43.009 "..., not intractable, without status migrainosus", not G43.001 "... with
    status migrainosus"), then the one with most 'unspecified' qualifiers (S52.5 -> S52.509A
    "... of unspecified radius"), then the first code.
    """
    if not children:
        return None
    pool = [c for c in children if "unspecified" in c[1].lower()] or children

    def rank(child: tuple[str, str]) -> tuple[int, int, str]:
        low = child[1].lower()
        plain = len(set(_DEFAULT_WORDS.findall(low))) - len(_WITH.findall(low))
        return (-plain, -low.count("unspecified"), child[0])

    return min(pool, key=rank)[0]


def header_child(catalog: Any, system: str, header: str) -> str | None:
    """The billable code a header code's signal rolls to (`default_billable_child` of its first
    40 billable descendants)."""
    kids = catalog.billable_descendants(header)
    return default_billable_child([(k, catalog.get(system, k).description) for k in kids[:40]])


def to_billable(catalog: Any, system: str, code: str) -> str | None:
    """`code` in billable form: itself when billable, a header's default child, None when the
    catalog does not know it."""
    entry = catalog.get(system, code)
    if entry is None:
        return None
    if entry.billable:
        return str(entry.code)
    return header_child(catalog, system, entry.code)


def billable_labels(
    catalog: Any, labels: Iterable[tuple[str, str]]
) -> tuple[set[tuple[str, str]], int]:
    """Gold codes in billable form (`to_billable`: a header rolls to its default billable
    child), and how many the catalog does not know (dropped)."""
    out: set[tuple[str, str]] = set()
    dropped = 0
    for system, code in labels:
        b = to_billable(catalog, system, code)
        if b is None:
            dropped += 1
        else:
            out.add((system, b))
    return out, dropped


def build_phrases(
    entries: Iterable[tuple[str, str, bool, str, tuple[str, ...], tuple[str, ...]]],
    header_targets: dict[str, str],
    synonyms: Iterable[tuple[str, str, str]],
) -> list[Phrase]:
    """All phrases, deduplicated.

    `entries`: (system, code, billable, description, inclusion_terms, extra_labels) for billable
    codes. `header_targets`: header description → billable code it rolls to, keyed by the header's
    description. `synonyms`: (system, code, phrase).
    """
    seen: set[tuple[str, tuple[str, ...]]] = set()
    out: list[Phrase] = []

    def add(system: str, code: str, text: str, source: str) -> None:
        for variant in _variants(text):
            toks = normalize_phrase(variant)
            if not toks or len(toks) > 14:
                continue
            key = (code, toks)
            if key in seen:
                continue
            seen.add(key)
            out.append(Phrase(system, code, toks, SOURCES[source]))

    for system, code, billable, description, inclusions, labels in entries:
        if not billable:
            continue
        add(system, code, description, "description" if system == "ICD-10-CM" else "label")
        for term in inclusions:
            add(system, code, term, "inclusion")
        for label in labels:
            add(system, code, label, "label")
    for description, code in header_targets.items():
        add("ICD-10-CM", code, description, "header")
    for system, code, phrase in synonyms:
        add(system, code, phrase, "synonym")
    return out
