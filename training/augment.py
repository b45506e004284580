"""Phrasing augmentation: rewrite gold mentions of training notes with other names of the code.

A synthetic note names each code in one of a few phrasings, and the classifier learns those
words. Cross-fitting then hides nothing: the same phrasings sit in every fold, so the ranker
learns to trust the classifier, and on a note that names a code in words it never saw ("elevated
lipids" where training said "hyperlipidemia") it scores a full dictionary match at a few per
cent. Rewriting a share of the gold mentions with the code's other names from the model's own
code-set knowledge (official description, inclusion terms, the project lexicon) gives the
classifier more names and the ranker training pairs where only the dictionary knows the words.

Only spans that are the evidence of exactly one gold code are rewritten, never E/M statements,
and the result is a new note without evidence offsets (training uses texts and labels only).
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from evaluation.datasets import GoldCode, LabeledNote

_UNSPECIFIED = re.compile(r",?\s*\b(?:unspecified|NOS)\b", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def code_names(catalog: Any) -> dict[tuple[str, str], list[str]]:
    """(system, code) -> the names the model's dictionary knows for it: for ICD-10-CM the
    official description and inclusion terms, for HCPCS its description, and for every system
    the project lexicon (`model/v1/data/synonyms.tsv`). CPT descriptors are not in the catalog's
    public text, so CPT codes get lexicon names only."""
    from model.v1.lexicon import synonym_rows, synonym_system

    names: dict[tuple[str, str], list[str]] = defaultdict(list)
    for system in ("ICD-10-CM", "HCPCS"):
        for e in catalog.entries(system, billable_only=True):
            names[(system, e.code)].append(e.description)
            if system == "ICD-10-CM":
                names[(system, e.code)].extend(e.inclusion_terms)
    for code, phrase in synonym_rows():
        system = synonym_system(catalog, code)
        names[(system, catalog.normalize(system, code))].append(phrase)
    out: dict[tuple[str, str], list[str]] = {}
    for key, raw in names.items():
        clean: list[str] = []
        for name in raw:
            text = _SPACES.sub(" ", _UNSPECIFIED.sub("", name)).strip(" ,;")
            if len(text) >= 3 and text.lower() not in {c.lower() for c in clean}:
                clean.append(text)
        if clean:
            out[key] = clean
    return out


def augment_phrasings(
    notes: Sequence[LabeledNote],
    names: dict[tuple[str, str], list[str]],
    *,
    rate: float,
    seed: int,
    skip_codes: frozenset[str] = frozenset(),
) -> list[LabeledNote]:
    """`notes` with each rewritable gold code (see the module docstring) renamed with
    probability `rate`: all its mentions get one other name, drawn per note and code with a
    stable seed. Notes without evidence offsets are returned unchanged."""
    if rate <= 0:
        return list(notes)
    out: list[LabeledNote] = []
    for note in notes:
        rng = random.Random(f"{seed}:{note.id}")
        owners = Counter(span for g in note.codes for span in set(g.evidence))
        edits: list[tuple[int, int, str]] = []
        for g in note.codes:
            if g.code in skip_codes or not g.evidence or rng.random() >= rate:
                continue
            spans = [s for s in g.evidence if owners[s] == 1]
            current = {note.text[s:e].lower() for s, e in spans}
            choices = [n for n in names.get((g.system, g.code), ()) if n.lower() not in current]
            if not spans or not choices:
                continue
            name = rng.choice(choices)
            for s, e in spans:
                if any(s < e2 and s2 < e for s2, e2, _ in edits):
                    continue
                edits.append((s, e, _match_case(note.text[s:e], name)))
        if not edits:
            out.append(note)
            continue
        text = note.text
        for s, e, name in sorted(edits, reverse=True):
            text = text[:s] + name + text[e:]
        codes = tuple(GoldCode(g.system, g.code) for g in note.codes)
        out.append(replace(note, text=text, codes=codes, distractors=()))
    return out


def _match_case(old: str, name: str) -> str:
    """`name` with its first letter in the case of `old`'s (abbreviations stay as written)."""
    if old[:1].isupper():
        return name[:1].upper() + name[1:]
    if name[1:2].islower():
        return name[:1].lower() + name[1:]
    return name
