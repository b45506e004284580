"""Compile a phrase list into one fast, longest-match regular expression.

Phrases are matched case-insensitively, with any run of whitespace in the text standing for a
single space in the phrase, and only at word boundaries (a phrase that starts or ends with a word
character does not match inside a longer word). The phrases are laid out as a character trie so
that at each text position the engine follows one branch instead of trying every phrase; greedy
optional branches make the longest phrase win at a given start.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

_END = ""  # trie key marking "a phrase ends here"


def normalise_phrase(phrase: str) -> str:
    """The key a phrase (or a matched text) is looked up by: lower case, single spaces."""
    return " ".join(phrase.lower().split())


def _insert(trie: dict[str, dict], phrase: str) -> None:  # type: ignore[type-arg]
    node = trie
    for ch in phrase:
        node = node.setdefault(ch, {})
    node[_END] = {}


def _char_pattern(ch: str) -> str:
    if ch == " ":
        return r"\s+"
    return re.escape(ch)


def _node_pattern(node: dict[str, dict], last: str) -> str:  # type: ignore[type-arg]
    branches = []
    for ch in sorted(k for k in node if k != _END):
        branches.append(_char_pattern(ch) + _node_pattern(node[ch], ch))
    if _END in node:
        # A phrase may stop here: prefer longer continuations (tried first), then the end.
        branches.append(r"(?!\w)" if (last.isalnum() or last == "_") else "")
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


class PhraseMatcher:
    """Longest-match search for a fixed phrase list (case-insensitive, word-bounded).

    The text is lower-cased once (when that keeps its length, so offsets stay valid) and matched
    by a case-sensitive trie pattern, which is several times faster than `re.IGNORECASE`.
    """

    def __init__(self, phrases: Iterable[str], *, reverse: bool = False) -> None:
        keys = {normalise_phrase(p) for p in phrases} - {""}
        if reverse:
            keys = {k[::-1] for k in keys}
        self.keys = frozenset(keys)
        trie: dict[str, dict] = {}  # type: ignore[type-arg]
        for key in keys:
            _insert(trie, key)
        word = [ch for ch in sorted(trie) if ch.isalnum() or ch == "_"]
        other = [ch for ch in sorted(trie) if ch not in word]
        parts = []
        if word:
            body = "|".join(_char_pattern(ch) + _node_pattern(trie[ch], ch) for ch in word)
            parts.append(r"\b(?:" + body + ")")
        parts.extend(_char_pattern(ch) + _node_pattern(trie[ch], ch) for ch in other)
        source = "(?:" + "|".join(parts) + ")" if parts else r"(?!x)x"
        self._pattern = re.compile(source)
        self._pattern_ci = re.compile(source, re.IGNORECASE)

    def _prepare(self, text: str) -> tuple[str, re.Pattern[str]]:
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered, self._pattern
        return text, self._pattern_ci

    def finditer(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Yield `(start, end, key)` for non-overlapping matches, left to right."""
        subject, pattern = self._prepare(text)
        for m in pattern.finditer(subject):
            yield m.start(), m.end(), normalise_phrase(m.group())

    def match_at(self, subject: str, pos: int, *, lowered: bool = True) -> int:
        """End of the longest phrase starting at `pos` of an already lower-cased subject, or -1."""
        pattern = self._pattern if lowered else self._pattern_ci
        m = pattern.match(subject, pos)
        return -1 if m is None else m.end()

    def prepare(self, text: str) -> tuple[str, bool]:
        """Lower-case `text` for `match_at`; the flag says whether that kept offsets valid."""
        lowered = text.lower()
        if len(lowered) == len(text):
            return lowered, True
        return text, False
