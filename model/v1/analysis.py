"""One pass of text analysis per note, shared by training and inference.

Sentences, sections, tokens and code-set matches are computed once; context flags are computed
for the best mention of each matched code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from model.text.context import ContextAnalyzer
from model.text.sections import Section, detect_sections, section_at
from model.text.sentences import split_sentences
from model.v1.matcher import CodeMatch, PhraseMatcher
from model.v1.tokens import Token, mark_polarity, tokenize

#: Sections whose text feeds the section-aware ("key") features.
KEY_SECTIONS: frozenset[str] = frozenset(
    {
        "assessment",
        "assessment_plan",
        "impression",
        "discharge_diagnoses",
        "diagnoses",
        "procedures",
        "plan",
    }
)

#: Section name → small integer feature.
SECTION_GROUPS: dict[str, int] = {
    "none": 0,
    "other": 0,
    "assessment": 1,
    "assessment_plan": 1,
    "impression": 1,
    "discharge_diagnoses": 1,
    "diagnoses": 1,
    "chief_complaint": 2,
    "hpi": 2,
    "hospital_course": 2,
    "pmh": 3,
    "psh": 3,
    "family_history": 4,
    "ros": 5,
    "physical_exam": 5,
    "vitals": 5,
    "plan": 6,
    "medications": 7,
    "allergies": 7,
    "procedures": 8,
    "labs": 9,
    "imaging": 9,
    "results": 9,
    "social_history": 10,
}

CONTEXT_FLAGS: tuple[str, ...] = (
    "negated",
    "historical",
    "family",
    "hypothetical",
    "uncertain",
    "ruled_out",
)


@dataclass
class NoteAnalysis:
    text: str
    tokens: list[Token]
    sentences: list[tuple[int, int]]
    sections: list[Section]
    key_text: str
    matches: dict[int, CodeMatch] = field(default_factory=dict)
    context: dict[int, tuple[bool, ...]] = field(default_factory=dict)
    section_of_match: dict[int, int] = field(default_factory=dict)
    #: History status codes derived from family/historical mentions: code -> (kind, start, end).
    history: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    #: Combination codes presumed from affirmed conditions: code -> its components' spans; and
    #: the codes such a combination replaces (see `combination.py`).
    combinations: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    replaced: dict[int, int] = field(default_factory=dict)


def analyze(
    text: str, matcher: PhraseMatcher, context: ContextAnalyzer, *, max_context: int = 120
) -> NoteAnalysis:
    sentences = [(s.start, s.end) for s in split_sentences(text)] or [(0, len(text))]
    sections = detect_sections(text)
    key_text = " ".join(text[s.start : s.end] for s in sections if s.name in KEY_SECTIONS)
    tokens = tokenize(text)
    matches = matcher.match(mark_polarity(text, tokens, keep_plain=True), sentences)
    out = NoteAnalysis(text, tokens, sentences, sections, key_text, matches)
    if not matches:
        return out
    # Context for the strongest mentions only (bounded work per note).
    ranked = sorted(matches.values(), key=lambda m: (-m.coverage, -m.weight))[:max_context]
    spans = [(m.start, m.end) for m in ranked]
    flags = context.analyze(text, spans, sentences=None, sections=sections)
    for m, f in zip(ranked, flags, strict=True):
        out.context[m.code_index] = tuple(bool(getattr(f, name, False)) for name in CONTEXT_FLAGS)
        sec = section_at(sections, m.start)
        out.section_of_match[m.code_index] = SECTION_GROUPS.get(sec.name, 0)
    return out


def key_texts(analyses: Sequence[NoteAnalysis]) -> list[str]:
    return [a.key_text for a in analyses]
