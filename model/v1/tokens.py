"""Tokenisation with character offsets, light normalisation and abbreviation expansion.

Every token keeps the `[start, end)` offsets of the exact note text it came from, so matches and
evidence map back to the caller's text without any shift. Normalised forms are lower-case, lightly
stemmed and, for known abbreviations, expanded into several tokens that share the original offsets.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_TOKEN_RE = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[A-Za-z0-9]+(?:/[A-Za-z0-9]+)+")

#: Words with no discriminating value in code descriptions or notes.
STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "and",
        "or",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "with",
        "without",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "his",
        "her",
        "their",
        "he",
        "she",
        "they",
        "we",
        "our",
        "patient",
        "pt",
        "has",
        "have",
        "had",
        "not",
        "no",
        "nos",
        "other",
        "unspecified",
        "specified",
        "classified",
        "elsewhere",
        "than",
        "into",
        "per",
        "due",
        "type",
        "site",
        "part",
        "which",
        "who",
        "whom",
        "also",
        "any",
        "all",
        "some",
        "more",
        "most",
        "such",
        "use",
        "additional",
        "code",
        "first",
    ]
)

#: Words kept out of the description side only (they carry meaning in notes, e.g. "no").
DESCRIPTION_ONLY_STOP: frozenset[str] = frozenset({"initial", "encounter", "subsequent", "sequela"})


@dataclass(frozen=True, slots=True)
class Token:
    norm: str
    start: int
    end: int


def stem(word: str) -> str:
    """A small, deterministic suffix stripper (plural and a few inflections)."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith("sses"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "os")):
        w = w[:-1]
    if len(w) > 6 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 5 and w.endswith("ed") and not w.endswith("eed"):
        w = w[:-2]
    return w


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, tuple[str, ...]]:
    """Abbreviation → expansion tokens, from `data/abbreviations.tsv` (validated on load)."""
    out: dict[str, tuple[str, ...]] = {}
    path = resources.files("model.v1").joinpath("data/abbreviations.tsv")
    with path.open(encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise ValueError(
                    f"abbreviations.tsv line {lineno}: expected 'abbreviation<TAB>expansion', "
                    f"got {row!r}"
                )
            out[row[0].strip().lower()] = tuple(
                stem(t) for t in row[1].lower().split() if t not in STOPWORDS
            )
    return out


def tokenize(text: str, *, expand: bool = True, keep_stopwords: bool = False) -> list[Token]:
    """Tokens of `text` with offsets. Abbreviations expand into tokens sharing their offsets."""
    abbr = abbreviations() if expand else {}
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group(0).lower()
        start, end = m.start(), m.end()
        expansion = abbr.get(raw)
        if expansion is not None:
            out.extend(Token(t, start, end) for t in expansion)
            continue
        if "/" in raw:  # "s/p", "w/o", "n/v": try whole, then parts
            parts = raw.split("/")
            offset = start
            for part in parts:
                p_exp = abbr.get(part)
                if p_exp is not None:
                    out.extend(Token(t, offset, offset + len(part)) for t in p_exp)
                elif keep_stopwords or part not in STOPWORDS:
                    out.append(Token(stem(part), offset, offset + len(part)))
                offset += len(part) + 1
            continue
        if not keep_stopwords and raw in STOPWORDS:
            continue
        out.append(Token(stem(raw), start, end))
    return out


def normalize_phrase(text: str) -> tuple[str, ...]:
    """Normalised content tokens of a description or synonym (order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for tok in tokenize(text):
        if tok.norm not in DESCRIPTION_ONLY_STOP:
            seen.setdefault(tok.norm, None)
    return tuple(seen)


_WORD_CHAR = re.compile(r"\w")


def snap_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen `[start, end)` to whole words and trim surrounding whitespace/punctuation."""
    n = len(text)
    start = max(0, min(start, n))
    end = max(start, min(end, n))
    while start > 0 and _WORD_CHAR.match(text[start - 1]) and _WORD_CHAR.match(text[start]):
        start -= 1
    while end < n and end > 0 and _WORD_CHAR.match(text[end - 1]) and _WORD_CHAR.match(text[end]):
        end += 1
    while start < end and not _WORD_CHAR.match(text[start]):
        start += 1
    while end > start and not _WORD_CHAR.match(text[end - 1]):
        end -= 1
    return start, end
