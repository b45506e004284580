"""Section detection: split a note into the sections physicians write (HPI, PMH, ROS, A/P...).

The header vocabulary is data (`model/text/rules/sections.json`). A vocabulary phrase counts as a
header when

* it starts a line (after optional whitespace, bullets or markdown marks) and is followed by a
  colon ("HPI: ...", "Past Medical History:"), or
* it starts a line and stands alone on it ("HISTORY OF PRESENT ILLNESS"), unless the phrase is
  ambiguous (listed in `colon_required`, e.g. "PE", "Dx"), or
* it starts a line, is typed in capitals and is followed by text ("HPI 45 yo man ..."), unless
  ambiguous, or
* it sits inside a line, is followed by a colon and is typed in capitals ("... ASSESSMENT AND
  PLAN: ...") or follows the end of a sentence (". Assessment: ..."), or
* it starts a line in square brackets ("[Plan] ...", "[Family History]").

At a line start the phrase may follow an outline number ("3. Family History", "IV) PLAN").

Sections cover the whole text, in order, without gaps: text before the first header is a section
named `none`; a note without headers is one `none` section.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from model.text._phrases import PhraseMatcher, normalise_phrase
from model.text.note import Span
from model.text.rulefiles import (
    RuleFileError,
    RuleSource,
    read_rules,
    require,
    require_choice,
)

#: Canonical section names a rule file may use (`none` is reserved for text before any header).
SECTION_NAMES: tuple[str, ...] = (
    "chief_complaint",
    "hpi",
    "pmh",
    "psh",
    "family_history",
    "social_history",
    "medications",
    "discharge_medications",
    "allergies",
    "ros",
    "physical_exam",
    "vitals",
    "labs",
    "imaging",
    "assessment",
    "plan",
    "assessment_plan",
    "impression",
    "diagnoses",
    "discharge_diagnoses",
    "procedures",
    "hospital_course",
    "treatment",
    "subjective",
    "objective",
    "history",
    "problem_list",
    "immunizations",
    "findings",
    "indications",
    "disposition",
    "follow_up",
    "other",
)
NO_SECTION = "none"

_ENTRY_KEYS = ("name", "headers", "colon_required")
#: What may stand before a header on its line: bullets and markdown marks, an outline number
#: ("3.", "3)", "IV.") and an opening bracket ("[Plan]").
_LEAD_RE = re.compile(r"[ \t\-*•#>]*(?:(?:\d{1,2}|[IVX]{1,4})[.)][ \t]+)?(?:\[[ \t]*)?")
#: The bracket that closes a bracketed header.
_CLOSE_RE = re.compile(r"[ \t]*\]")
_COLON_RE = re.compile(r"[ \t]*\**[ \t]*:\**")
_EOL_RE = re.compile(r"[ \t*]*(?:\r?\n|\r|$)")
_PREFIX_CHARS = 200  # how far back from a candidate header its line start is looked for
_NEWLINE_RE = re.compile(r"\r\n|\n|\r")
_SENTENCE_END_RE = re.compile(r"[.!?;][ \t\-*]*$|[ \t]{2,}$|\t$")


@dataclass(frozen=True, slots=True)
class Section:
    """One section: `[start, end)` into the note, its canonical `name`, its header span.

    `body_start` is where the content begins (after the header and its colon); it equals `start`
    for the header-less `none` section.
    """

    name: str
    header: Span | None
    start: int
    end: int
    body_start: int | None = None

    @property
    def content_start(self) -> int:
        if self.body_start is not None:
            return self.body_start
        return self.header.end if self.header is not None else self.start


@dataclass(frozen=True)
class SectionVocabulary:
    """A validated header vocabulary, compiled for matching."""

    version: str
    names: dict[str, str]  # normalised header -> canonical section name
    colon_required: frozenset[str]
    forward: PhraseMatcher
    backward: PhraseMatcher  # the same phrases reversed, matched leftwards from a colon


def load_section_rules(source: RuleSource = None) -> SectionVocabulary:
    """Load and validate a section vocabulary (default: the packaged `sections.json`)."""
    if source is None:
        return _default_vocabulary()
    return _build_vocabulary(*read_rules("sections.json", source))


@functools.lru_cache(maxsize=1)
def _default_vocabulary() -> SectionVocabulary:
    return _build_vocabulary(*read_rules("sections.json"))


def _build_vocabulary(origin: str, data: dict[str, object]) -> SectionVocabulary:
    version = str(require(origin, "version", data.get("version"), (str, int)))
    entries = require(origin, "sections", data.get("sections"), list)
    names: dict[str, str] = {}
    colon_required: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"sections[{i}]"
        require(origin, where, entry, dict)
        for key in entry:
            require_choice(origin, f"{where} key", key, _ENTRY_KEYS)
        name = require_choice(origin, f"{where}.name", entry.get("name"), SECTION_NAMES)
        headers = require(origin, f"{where}.headers", entry.get("headers"), list)
        if not headers:
            raise RuleFileError(f"{origin}: {where}.headers for {name!r} is empty")
        own: set[str] = set()
        for j, header in enumerate(headers):
            require(origin, f"{where}.headers[{j}]", header, str)
            key = normalise_phrase(header)
            if not key or not any(ch.isalnum() for ch in key):
                raise RuleFileError(
                    f"{origin}: {where}.headers[{j}] is {header!r}; a header needs a letter"
                )
            if key in names and names[key] != name:
                raise RuleFileError(
                    f"{origin}: header {header!r} is listed under both {names[key]!r} and {name!r}"
                )
            names[key] = name
            own.add(key)
        for j, header in enumerate(entry.get("colon_required", [])):
            require(origin, f"{where}.colon_required[{j}]", header, str)
            key = normalise_phrase(header)
            if key not in own:
                raise RuleFileError(
                    f"{origin}: {where}.colon_required[{j}] is {header!r}, "
                    f"which is not one of the headers of {name!r}"
                )
            colon_required.add(key)
    return SectionVocabulary(
        version=version,
        names=names,
        colon_required=frozenset(colon_required),
        forward=PhraseMatcher(names),
        backward=PhraseMatcher(names, reverse=True),
    )


def _is_capitals(typed: str) -> bool:
    letters = [ch for ch in typed if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _candidates(text: str, vocab: SectionVocabulary) -> list[tuple[int, int]]:
    """Vocabulary phrases at line starts or just before a colon, as sorted `(start, end)`."""
    lowered, ok = vocab.forward.prepare(text)
    found: dict[int, int] = {}
    line_start = 0
    n = len(text)
    while line_start < n:
        pos = _LEAD_RE.match(text, line_start).end()  # type: ignore[union-attr]
        end = vocab.forward.match_at(lowered, pos, lowered=ok)
        if end > pos:
            found[pos] = end
        nl = _NEWLINE_RE.search(text, line_start)
        if nl is None:
            break
        line_start = nl.end()
    if ":" in text:
        reversed_text = lowered[::-1]
        colon = text.find(":")
        while colon >= 0:
            stop = colon
            while stop > 0 and text[stop - 1] in " \t*":
                stop -= 1
            colon = text.find(":", colon + 1)
            rpos = n - stop
            rend = vocab.backward.match_at(reversed_text, rpos, lowered=ok)
            if rend > rpos:
                start = n - rend
                if found.get(start, -1) < stop:
                    found[start] = stop
    return sorted(found.items())


def _body_start(
    text: str, typed: str, end: int, prefix: str, at_line_start: bool, ambiguous: bool
) -> int:
    """Where the content of a candidate header begins, or -1 when it is not a header.

    A bracketed header at a line start ("[Plan] Follow up ...") is a header whatever follows
    its closing bracket; a bracket opened before the phrase must close right after it.
    """
    if at_line_start and prefix.rstrip(" \t").endswith("["):
        close = _CLOSE_RE.match(text, end)
        if close is None:
            return -1
        colon = _COLON_RE.match(text, close.end())
        return colon.end() if colon is not None else close.end()
    colon = _COLON_RE.match(text, end)
    if colon is not None:
        inline_ok = _is_capitals(typed) or (
            typed[0].isupper()
            and sum(ch.isalpha() for ch in typed) >= 2
            and _SENTENCE_END_RE.search(prefix) is not None
        )
        return colon.end() if at_line_start or inline_ok else -1
    if not at_line_start or ambiguous:
        return -1
    alone = _EOL_RE.match(text, end) is not None
    if alone or (_is_capitals(typed) and text[end : end + 1].isspace()):
        return end
    return -1


def _find_headers(text: str, vocab: SectionVocabulary) -> list[tuple[str, int, int, int, int]]:
    """Headers as `(name, section_start, start, end, body_start)`, in text order.

    A header that starts a line opens its section at the line start (bullets included).
    """
    found: list[tuple[str, int, int, int, int]] = []
    last_end = 0
    for start, end in _candidates(text, vocab):
        if start < last_end:
            continue
        typed = text[start:end]
        key = normalise_phrase(typed)
        ambiguous = key in vocab.colon_required
        lo = max(0, start - _PREFIX_CHARS)
        line_start = max(text.rfind("\n", lo, start), text.rfind("\r", lo, start)) + 1
        if line_start == 0 and lo > 0:  # no line break nearby: not at a line start
            prefix, at_line_start, line_start = text[lo:start], False, lo
        else:
            prefix = text[line_start:start]
            at_line_start = _LEAD_RE.fullmatch(prefix) is not None
        body_start = _body_start(text, typed, end, prefix, at_line_start, ambiguous)
        if body_start >= 0:
            opens = line_start if at_line_start else start
            found.append((vocab.names[key], opens, start, end, body_start))
            last_end = body_start
    return found


def detect_sections(text: str, rules: RuleSource | SectionVocabulary = None) -> list[Section]:
    """Split `text` into sections covering it entirely, in order.

    Always returns at least one section (a `none` section for text without headers, including
    the empty text).
    """
    vocab = rules if isinstance(rules, SectionVocabulary) else load_section_rules(rules)
    headers = _find_headers(text, vocab)
    sections: list[Section] = []
    if not headers or headers[0][1] > 0:
        first = headers[0][1] if headers else len(text)
        sections.append(Section(NO_SECTION, None, 0, first, 0))
    for i, (name, opens, start, end, body_start) in enumerate(headers):
        stop = headers[i + 1][1] if i + 1 < len(headers) else len(text)
        header = Span(start, end, text[start:end])
        sections.append(Section(name, header, opens, stop, body_start))
    return sections


def section_at(sections: Sequence[Section], offset: int) -> Section:
    """The section holding character `offset` (the last section for `offset == len(text)`)."""
    if not sections:
        raise ValueError("no sections given")
    if offset < sections[0].start or offset > sections[-1].end:
        raise ValueError(
            f"offset {offset} lies outside the sections [{sections[0].start}, {sections[-1].end}]"
        )
    starts = [s.start for s in sections]
    i = bisect.bisect_right(starts, offset) - 1
    # Skip empty sections sharing a start so that the section that holds the offset wins.
    while i + 1 < len(sections) and sections[i].end <= offset and sections[i + 1].start <= offset:
        i += 1
    return sections[max(i, 0)]
