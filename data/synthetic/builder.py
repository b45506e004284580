"""`NoteBuilder`: writes a note piece by piece and records the offsets of what it wrote.

Spans are recorded as text is appended, so they are exact by construction: the builder knows
the running length of the note, and a mention's span is `[length before, length after)`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from data.synthetic.lexicon import CLOSE, LIT, OPEN, SLOT, Frame, Lexicon
from data.synthetic.phrasing import maybe_typo

#: A slot value: literal text, or a function that writes (and labels) text itself.
SlotValue = str | Callable[["NoteBuilder", bool], None]


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


class NoteBuilder:
    """Accumulates note text, gold code evidence and distractor mentions."""

    def __init__(
        self, lex: Lexicon, rng: random.Random, split: str, typo_rate: float = 0.03
    ) -> None:
        self.lex = lex
        self.rng = rng
        self.split = split
        self.typo_rate = typo_rate
        self.parts: list[str] = []
        self.pos = 0
        self.gold: dict[tuple[str, str], list[tuple[int, int]]] = {}
        self.distractors: list[dict[str, Any]] = []
        self.frames_used: list[str] = []
        self.ctx: dict[str, str] = {}

    # -- raw text ---------------------------------------------------------------------------
    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def line(self, text: str = "") -> None:
        self.add(text + "\n")

    def text(self) -> str:
        return "".join(self.parts)

    # -- labelled text ----------------------------------------------------------------------
    def code_span(self, system: str, code: str, start: int, end: int) -> None:
        if end > start:
            self.gold.setdefault((system, code), []).append((start, end))

    def mention(self, phrase: str, system: str, code: str, capitalize: bool = False) -> None:
        """Write a gold mention of `code`; its span is the evidence."""
        if system == "ICD-10-CM":
            phrase = maybe_typo(phrase, self.rng, self.typo_rate)
        if capitalize:
            phrase = cap(phrase)
        start = self.pos
        self.add(phrase)
        self.code_span(system, code, start, self.pos)

    def distractor(
        self, phrase: str, system: str, code: str, reason: str, capitalize: bool = False
    ) -> None:
        """Write a mention a coder must NOT code, labelled with its reason."""
        if capitalize:
            phrase = cap(phrase)
        start = self.pos
        self.add(phrase)
        self.distractors.append(
            {"system": system, "code": code, "reason": reason, "evidence": [(start, self.pos)]}
        )

    # -- frames -----------------------------------------------------------------------------
    def pick(self, slot: str) -> Frame:
        frames = self.lex.frames[slot][self.split]
        frame = frames[self.rng.randrange(len(frames))]
        self.frames_used.append(frame.id)
        return frame

    def frame(
        self,
        slot: str,
        values: dict[str, SlotValue],
        marked: tuple[str, str] | None = None,
    ) -> None:
        """Render a random frame of `slot` from this note's split.

        `values` fills `{name}` slots (lower-case name; a capitalised slot name capitalises the
        value); the note context (`pron`, `age`, ...) fills the rest. Text between « and » is
        recorded as evidence for `marked` (system, code).
        """
        frame = self.pick(slot)
        mark_start = -1
        for kind, val in frame.parts:
            if kind == LIT:
                self.add(val)
            elif kind == SLOT:
                key = val[:1].lower() + val[1:]
                upper = val[:1].isupper()
                v = values.get(key)
                if v is None:
                    v = self.ctx[key]
                if isinstance(v, str):
                    if key == "age" and (v[:1] == "8" or v in ("11", "18")):
                        self._fix_article()
                    self.add(cap(v) if upper else v)
                else:
                    v(self, upper)
            elif kind == OPEN:
                mark_start = self.pos
            elif kind == CLOSE and marked is not None:
                self.code_span(marked[0], marked[1], mark_start, self.pos)

    def _fix_article(self) -> None:
        """'a 81-year-old' -> 'an 81-year-old' (the literal before the age ends in 'a ')."""
        last = self.parts[-1] if self.parts else ""
        if last.endswith((" a ", "A ")) or last in ("a ", "A "):
            self.parts[-1] = last[:-1] + "n "
            self.pos += 1

    def render(self, slot: str, values: dict[str, str]) -> str:
        """A frame rendered to a plain string (no labels), e.g. for a plan sentence."""
        frame = self.pick(slot)
        out = []
        for kind, val in frame.parts:
            if kind == LIT:
                out.append(val)
            elif kind == SLOT:
                key = val[:1].lower() + val[1:]
                v = values.get(key, self.ctx.get(key, ""))
                out.append(cap(v) if val[:1].isupper() else v)
        return "".join(out)

    def result(self) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """The note text, gold codes and distractors (spans as {start, end} dicts)."""
        text = self.text()
        codes = [
            {
                "system": system,
                "code": code,
                "evidence": [{"start": s, "end": e} for s, e in spans],
            }
            for (system, code), spans in self.gold.items()
        ]
        gold_keys = set(self.gold)
        distractors = [
            {
                "system": d["system"],
                "code": d["code"],
                "reason": d["reason"],
                "evidence": [{"start": s, "end": e} for s, e in d["evidence"]],
            }
            for d in self.distractors
            if (d["system"], d["code"]) not in gold_keys
        ]
        return text, codes, distractors
