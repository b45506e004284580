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


def excerpt_notes(
    notes: Sequence[LabeledNote],
    *,
    rate: float,
    seed: int,
    whole_codes: frozenset[str] = frozenset(),
    max_lines: int = 6,
    max_chars: int = 600,
) -> list[tuple[int, LabeledNote]]:
    """Short excerpts of a share (`rate`) of the notes, as extra training notes: (index of the
    source note in `notes`, excerpt).

    Synthetic notes are whole visits, but a note arrives short too: an EHR asks while the
    physician is still charting, a user pastes an assessment line. Trained on whole notes only,
    the ranker had never seen a two-line note and scored "DM2 without complications" at 0.06 for
    E11.9. An excerpt is 1 to `max_lines` consecutive non-empty lines holding at least one gold
    mention, at most `max_chars` long (a case report's paragraph-long lines give none); its gold
    codes are those with a mention inside it, and for `whole_codes` (E/M
    levels, which depend on the whole visit) only those whose every evidence span is inside.
    An excerpt keeps its note's metadata and group (so cross-fitting keeps it with its note).
    Notes without evidence offsets give no excerpt.
    """
    out: list[tuple[int, LabeledNote]] = []
    for index, note in enumerate(notes):
        rng = random.Random(f"excerpt:{seed}:{note.id}")
        if rng.random() >= rate or not any(g.evidence for g in note.codes):
            continue
        lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", note.text)]
        # anchored on a mention that an excerpt can hold alone (not an E/M statement)
        spans = sorted(s for g in note.codes if g.code not in whole_codes for s in g.evidence)
        anchors = [i for i, (a, b) in enumerate(lines) if any(a <= s < b for s, _ in spans)]
        if not anchors:
            continue
        anchor = rng.choice(anchors)
        length = rng.randint(1, max_lines)
        first = max(0, min(anchor - rng.randint(0, length - 1), len(lines) - length))
        last = min(len(lines), first + length) - 1
        while lines[last][1] - lines[first][0] > max_chars and first < last:
            if anchor - first > last - anchor:  # drop the line farthest from the anchor
                first += 1
            else:
                last -= 1
        start, end = lines[first][0], lines[last][1]
        if end - start > max_chars:
            continue

        def inside(span: tuple[int, int], start: int = start, end: int = end) -> bool:
            return start <= span[0] and span[1] <= end

        codes = tuple(
            GoldCode(
                g.system,
                g.code,
                tuple((s - start, e - start) for s, e in g.evidence if inside((s, e))),
            )
            for g in note.codes
            if g.evidence
            and (
                all(map(inside, g.evidence))
                if g.code in whole_codes
                else any(map(inside, g.evidence))
            )
        )
        if not codes:
            continue
        excerpt = replace(
            note,
            id=f"{note.id}#excerpt",
            text=note.text[start:end],
            codes=codes,
            distractors=(),
            group=note.group or note.id,
        )
        out.append((index, excerpt))
    return out
