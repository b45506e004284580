"""Context of mentions: negated, historical, family, hypothetical, uncertain, ruled out.

A ConText/NegEx-style analyser driven by the cue data in `model/text/rules/context_rules.json`
(see `model.text.context_rules`). Pure Python, no spaCy: the model calls it per request.

How a cue reaches a mention:

* a cue overlapping the mention applies to it ("history of MI" as one mention);
* a `pre` cue applies to mentions after it, a `post` cue to mentions before it, `both` either;
* the reach stays inside the sentence and the section body, within the cue's window (in words)
  and within `MAX_REACH_CHARS` characters;
* a `terminate` cue between them stops it ("denies fever but reports cough");
* a cue of another category between them stops it too, when words separate the two cues ("no
  chest pain, history of MI"), while adjacent cues stack ("no prior MI" is negated and
  historical); `family` and `current` cues are not stopped this way ("mother has a history of
  breast cancer" is family and historical);
* a backward (`post`) reach does not cross a comma ("chest pain, PE was ruled out"), except
  for `family` and `current` cues and a negation that closes a labelled list ("Serology: HIV,
  HBV and CMV negative.");
* a `pre` cue ending its line ("Denies:", "Negative for:") carries over the list lines that
  follow it in the same section, until a line with a cue of its own;
* sections add flags (`section_flags` in the rule file: Family History -> family, PMH/PSH ->
  historical); a `current` cue cancels `historical`.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from model.text.context_rules import (
    MODIFIERS,
    ContextRule,
    ContextRules,
    load_context_rules,
)
from model.text.note import Span
from model.text.rulefiles import RuleSource
from model.text.sections import (
    Section,
    SectionVocabulary,
    detect_sections,
    load_section_rules,
)
from model.text.sentences import split_sentences

FLAG_NAMES: tuple[str, ...] = (
    "negated",
    "historical",
    "family",
    "hypothetical",
    "uncertain",
    "ruled_out",
)
_TRANSPARENT = frozenset({"family", "current"})
#: No cue reaches further than this many characters (bounds the work on run-on text).
MAX_REACH_CHARS = 1000


@dataclass(frozen=True, slots=True)
class ContextFlags:
    """The context of one mention, with the cue spans (and section headers) that set it."""

    negated: bool = False
    historical: bool = False
    family: bool = False
    hypothetical: bool = False
    uncertain: bool = False
    ruled_out: bool = False
    cues: tuple[Span, ...] = ()

    @property
    def affirmed(self) -> bool:
        """True when the mention is asserted of the patient (not negated, planned, uncertain or
        about a relative). Historical mentions count as affirmed."""
        return not (self.negated or self.hypothetical or self.uncertain or self.family)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {name: getattr(self, name) for name in FLAG_NAMES}
        out["cues"] = [c.to_dict() for c in self.cues]
        return out


@dataclass(frozen=True, slots=True)
class Cue:
    """A cue found in the text."""

    start: int
    end: int
    rule: ContextRule

    @property
    def category(self) -> str:
        return self.rule.category


class ContextAnalyzer:
    """Marks mentions with their context. Rules load (and are validated) at construction."""

    def __init__(
        self,
        rules: RuleSource | ContextRules = None,
        *,
        section_rules: RuleSource | SectionVocabulary = None,
    ) -> None:
        self.rules = load_context_rules(rules)
        self.section_rules = (
            section_rules
            if isinstance(section_rules, SectionVocabulary)
            else load_section_rules(section_rules)
        )

    def find_cues(self, text: str, sections: Sequence[Section] | None = None) -> list[Cue]:
        """All cues in `text`, left to right, skipping any that overlap a section header."""
        if sections is None:
            sections = detect_sections(text, self.section_rules)
        headers = [(s.header.start, s.header.end) for s in sections if s.header is not None]
        rules = self.rules.rules
        cues: list[Cue] = []
        h = 0
        for start, end, key in self.rules.matcher.finditer(text):
            while h < len(headers) and headers[h][1] <= start:
                h += 1
            if h < len(headers) and headers[h][0] < end:
                continue
            cues.append(Cue(start, end, rules[key]))
        return cues

    def analyze(
        self,
        text: str,
        mentions: Sequence[tuple[int, int]],
        sentences: Sequence[Span] | None = None,
        sections: Sequence[Section] | None = None,
    ) -> list[ContextFlags]:
        """One `ContextFlags` per mention (`(start, end)` offsets into `text`), in order."""
        spans = _check_mentions(text, mentions)
        if not spans:
            return []
        if sections is None:
            sections = detect_sections(text, self.section_rules)
        if sentences is None:
            sentences = split_sentences(text)
        cues = self.find_cues(text, sections)
        scan = _Scan(text, list(sentences), list(sections), cues, self.rules)
        return [scan.flags(start, end) for start, end in spans]


def _check_mentions(text: str, mentions: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    n = len(text)
    out: list[tuple[int, int]] = []
    for i, mention in enumerate(mentions):
        try:
            start, end = mention
        except (TypeError, ValueError):
            raise ValueError(
                f"mentions[{i}] must be a (start, end) pair; got {mention!r}"
            ) from None
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= n):
            raise ValueError(
                f"mentions[{i}] = {mention!r} is not a span of a text of {n} characters"
            )
        out.append((start, end))
    return out


def _has_word(text: str, start: int, end: int) -> bool:
    return any(ch.isalnum() for ch in text[start:end])


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def _unblocked(category: str, between: Counter[str], adjacent: Cue | None) -> bool:
    """No cue of another category stands between, except one right next to the cue."""
    for other, count in between.items():
        if other == category:
            continue
        if adjacent is not None and adjacent.category == other:
            count -= 1
        if count > 0:
            return False
    return True


class _Scan:
    """Per-call state: sentences, sections and cues of one text, indexed for lookups."""

    def __init__(
        self,
        text: str,
        sentences: list[Span],
        sections: list[Section],
        cues: list[Cue],
        rules: ContextRules,
    ) -> None:
        self.text = text
        self.sentences = sentences
        self.sections = sections
        self.cues = cues
        self.section_flags = rules.section_flags
        self.sent_starts = [s.start for s in sentences]
        self.sec_starts = [s.start for s in sections]
        self.cue_starts = [c.start for c in cues]
        self._carry: dict[int, Cue] | None = None

    # -- regions -----------------------------------------------------------------------------
    def _section(self, offset: int) -> Section | None:
        i = bisect.bisect_right(self.sec_starts, offset) - 1
        return self.sections[i] if i >= 0 else None

    def _region(self, ms: int, me: int) -> tuple[int, int, int | None, Section | None]:
        """`[lo, hi)` a cue must lie in to reach the mention, its sentence index, its section."""
        i = bisect.bisect_right(self.sent_starts, ms) - 1
        sidx: int | None = None
        if i >= 0 and ms < self.sentences[i].end:
            lo, hi, sidx = self.sentences[i].start, self.sentences[i].end, i
        else:  # between sentences (whitespace) or no sentences at all
            lo = self.sentences[i].end if i >= 0 else 0
            hi = self.sentences[i + 1].start if i + 1 < len(self.sentences) else len(self.text)
        section = self._section(ms)
        if section is not None:
            if ms >= section.content_start:
                lo = max(lo, section.content_start)
            hi = min(hi, section.end)
        lo, hi = max(lo, ms - MAX_REACH_CHARS), min(hi, me + MAX_REACH_CHARS)
        return min(lo, ms), max(hi, me), sidx, section

    def _local(self, lo: int, hi: int) -> list[Cue]:
        k = bisect.bisect_left(self.cue_starts, lo)
        out = []
        while k < len(self.cues) and self.cues[k].start < hi:
            if self.cues[k].end <= hi:
                out.append(self.cues[k])
            k += 1
        return out

    # -- reach -------------------------------------------------------------------------------
    def _forward(self, ms: int, before: list[Cue]) -> list[Cue]:
        """Cues before the mention (left to right in `before`) whose forward reach gets to it.

        Walks from the mention leftwards, so each cue is looked at once: a forward terminator
        stops the walk; the categories of the modifier cues passed so far are the ones that
        stand between the current cue and the mention.
        """
        text = self.text
        fired: list[Cue] = []
        between: Counter[str] = Counter()
        nearest: Cue | None = None
        for cue in reversed(before):
            category = cue.category
            if category == "terminate":
                if cue.rule.looks_forward:
                    break
                continue
            if category not in MODIFIERS or not cue.rule.looks_forward:
                continue
            window = cue.rule.pre_window
            ok = window is None or _words(text, cue.end, ms) < window
            if ok and category not in _TRANSPARENT:
                adjacent = nearest is not None and not _has_word(text, cue.end, nearest.start)
                ok = _unblocked(category, between, nearest if adjacent else None)
            if ok:
                fired.append(cue)
            between[category] += 1
            nearest = cue
        return fired

    def _backward(
        self, me: int, after: list[Cue], *, list_head: bool = False, hi: int | None = None
    ) -> list[Cue]:
        """Cues after the mention (left to right) whose backward reach gets to it.

        A negation closing a labelled list ("Serology: HIV, HBV and CMV negative.": a colon
        before the mention, the cue last in its sentence) reaches back over the whole list,
        commas and window notwithstanding; without the label ("Chest pain, troponin negative.")
        the comma still stops it."""
        text = self.text
        end = len(text) if hi is None else hi
        fired: list[Cue] = []
        between: Counter[str] = Counter()
        nearest: Cue | None = None
        comma = False
        pos = me
        for cue in after:
            if not comma and "," in text[pos : cue.start]:
                comma = True
            pos = max(pos, cue.end)
            category = cue.category
            if category == "terminate":
                if cue.rule.looks_back:
                    break
                continue
            if category not in MODIFIERS or not cue.rule.looks_back:
                continue
            closes_list = list_head and category == "negated" and not _has_word(text, cue.end, end)
            window = cue.rule.post_window
            ok = closes_list or window is None or _words(text, me, cue.start) < window
            if ok and category not in _TRANSPARENT:
                adjacent = nearest is not None and not _has_word(text, nearest.end, cue.start)
                ok = (not comma or closes_list) and _unblocked(
                    category, between, nearest if adjacent else None
                )
            if ok:
                fired.append(cue)
            between[category] += 1
            nearest = cue
        return fired

    def _carried(self, sidx: int) -> Cue | None:
        """The list-heading cue ("Denies:") carried into sentence `sidx`, if any."""
        if self._carry is None:
            self._carry = {}
            current: Cue | None = None
            current_section: Section | None = None
            for idx, sent in enumerate(self.sentences):
                section = self._section(sent.start)
                if section is not current_section:
                    current, current_section = None, section
                if current is not None:
                    self._carry[idx] = current
                own = [c for c in self._local(sent.start, sent.end) if c.category != "pseudo"]
                if own:
                    last = own[-1]
                    tail = self.text[last.end : sent.end].strip(" \t:-")
                    heading = last.category in MODIFIERS and last.rule.looks_forward
                    current = last if heading and not tail else None
        return self._carry.get(sidx)

    # -- flags -------------------------------------------------------------------------------
    def flags(self, ms: int, me: int) -> ContextFlags:
        lo, hi, sidx, section = self._region(ms, me)
        local = self._local(lo, hi)
        before = [c for c in local if c.end <= ms]
        after = [c for c in local if c.start >= me]
        # A cue that opens the mention ("history of MI" matched as one mention) modifies it; one
        # after the mention's first word is part of the diagnosis's own wording ("concussion
        # without loss of consciousness", "examination without abnormal findings").
        fired = [
            c
            for c in local
            if c.start < me
            and c.end > ms
            and c.category in MODIFIERS
            and not _has_word(self.text, ms, c.start)
        ]
        fired += self._forward(ms, before)
        fired += self._backward(me, after, list_head=":" in self.text[lo:ms], hi=hi)
        if sidx is not None and not any(c.category != "pseudo" for c in before):
            carried = self._carried(sidx)
            if carried is not None:
                fired.append(carried)
        categories = {c.category for c in fired}
        cue_spans = [Span(c.start, c.end, self.text[c.start : c.end]) for c in fired]
        if section is not None and section.header is not None and ms >= section.content_start:
            extra = self.section_flags.get(section.name, ())
            if extra:
                categories.update(extra)
                cue_spans.append(section.header)
        if "current" in categories:
            categories.discard("historical")
        cue_spans.sort(key=lambda s: (s.start, s.end))
        return ContextFlags(
            negated="negated" in categories or "ruled_out" in categories,
            historical="historical" in categories,
            family="family" in categories,
            hypothetical="hypothetical" in categories,
            uncertain="uncertain" in categories,
            ruled_out="ruled_out" in categories,
            cues=tuple(cue_spans),
        )
