"""Fast rule-based sentence splitting for clinical notes.

Boundaries:

* every line break ends a sentence (CodiEsp English has one sentence per line; bullet notes have
  one item per line);
* an inline bullet (•, ▪, ►...) starts a new sentence, as does an inline list number ("1. HTN
  2. DM" gives "1. HTN" and "2. DM");
* `.`, `!` or `?` followed by whitespace ends a sentence unless the next word starts with a
  lower-case letter ("b.i.d. for 5 days"), the word before the period is a known abbreviation
  ("Dr.", "e.g.", "vs."), or the period closes a list number at the start of the sentence
  ("1. Hypertension"). Decimals ("7.2", "37.5C") and dotted abbreviations inside a word never
  split because a boundary needs whitespace after the mark.

Spans are trimmed of surrounding whitespace and never empty; `text[s.start:s.end] == s.text`.
"""

from __future__ import annotations

import re

from model.text.note import Span

#: Words whose trailing period never ends a sentence (compared lower-cased, without the period).
ABBREVIATIONS: frozenset[str] = frozenset(
    {
        "dr", "drs", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "vs", "v", "e.g", "i.e",
        "eg", "ie", "cf", "approx", "fig", "figs", "al", "inc", "ltd", "dept", "pt", "pts",
        "ref", "resp", "mt", "ft", "incl", "esp",
    }
)  # fmt: skip

# Candidate boundaries; each is then judged in Python (one cheap scan, few candidates).
_CANDIDATE_RE = re.compile(r"\r\n?|\n|[•●▪◦■□➢►▶]|[.!?]+[\"'”’)\]]*(?=\s|$)|\)(?=[ \t])")
_BULLETS = frozenset("•●▪◦■□➢►▶")
_LONGEST_ABBREVIATION = max(len(a) for a in ABBREVIATIONS) + 2  # room for "(" or "["
_LIST_LOOKBACK = 300  # how far back "k-1." is looked for when "k." appears inside a line
_ENUMERATOR_RE = re.compile(r"[(\[]?(?:\d{1,2}|[A-Za-z]|[ivxIVX]{1,4})[.)]?")


def _is_enumerator(token: str) -> bool:
    return _ENUMERATOR_RE.fullmatch(token) is not None


def _next_char(text: str, pos: int) -> str:
    n = len(text)
    while pos < n and text[pos] in " \t":
        pos += 1
    return text[pos] if pos < n else ""


def _ends_sentence(text: str, start: int, mark_start: int, mark_end: int) -> bool:
    """Whether the punctuation `text[mark_start:mark_end]` closes the sentence begun at `start`."""
    nxt = _next_char(text, mark_end)
    if nxt.islower():
        return False
    if text[mark_start] == ".":
        k = mark_start
        lo = max(start, mark_start - _LONGEST_ABBREVIATION)
        while k > lo and not text[k - 1].isspace():
            k -= 1
        if k > start and not text[k - 1].isspace():
            return True  # a long word: neither an abbreviation nor a list number
        word = text[k:mark_start].lstrip("([")
        if word.lower() in ABBREVIATIONS:
            return False
        if k == start and _is_enumerator(word):  # "1." or "a)" opening the sentence
            return False
    return True


def _emit(text: str, start: int, end: int, out: list[Span]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append(Span(start, end, text[start:end]))


def _inline_enumerator(text: str, start: int, mark: int) -> int:
    """Start of an inline list number ("... 2. DM") whose mark is at `mark`, or -1."""
    i = mark
    while i > start and text[i - 1].isdigit() and mark - i < 2:
        i -= 1
    if i == mark or i <= start or text[i - 1] not in " \t" or int(text[i:mark]) > 20:
        return -1
    if text[i] == "0" or not _next_char(text, mark + 1).isalpha():
        return -1
    k = i - 1
    while k > start and text[k - 1].isspace():
        k -= 1
    if k <= start:  # the number opens the sentence already
        return -1
    number = int(text[i:mark])
    if number == 1:  # "Plan: 1. HTN ..." opens a list after a colon
        return i if text[k - 1] == ":" else -1
    # "k." continues a list only after "k-1." shortly before on the same line ("1. HTN 2. DM",
    # not "given 2.")
    lo = max(0, i - _LIST_LOOKBACK)
    line_start = max(text.rfind("\n", lo, i), text.rfind("\r", lo, i), lo - 1) + 1
    previous = f"{number - 1}{text[mark]}"
    j = text.find(previous, line_start, i)
    while j >= 0:
        if j == line_start or not text[j - 1].isalnum():
            return i
        j = text.find(previous, j + 1, i)
    return -1


def split_sentences(text: str) -> list[Span]:
    """Split `text` into sentence spans (end-exclusive offsets into `text`)."""
    out: list[Span] = []
    start = 0
    for m in _CANDIDATE_RE.finditer(text):
        at = m.start()
        ch = text[at]
        if ch == "\n" or ch == "\r":
            _emit(text, start, at, out)
            start = m.end()
        elif ch in _BULLETS:
            _emit(text, start, at, out)
            start = at
        else:
            mark = m.group()
            if mark in (".", ")"):
                enum = _inline_enumerator(text, start, at)
                if enum >= 0:
                    _emit(text, start, enum, out)
                    start = enum
                    continue
            if ch != ")" and _ends_sentence(text, start, at, m.end()):
                _emit(text, start, m.end(), out)
                start = m.end()
    _emit(text, start, len(text), out)
    return out
