"""Tokenisation with character offsets, light normalisation and abbreviation expansion.

Every token keeps the `[start, end)` offsets of the exact note text it came from, so matches and
evidence map back to the caller's text without any shift. Normalised forms are lower-case, spelled
the US way (ICD-10-CM's wording: "anaemia" → "anemia", "tumour" → "tumor"), lightly stemmed and, for
known abbreviations, expanded into several tokens that share the original offsets.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TypeVar

# A word may carry slash or ampersand parts ("s/p", "n/v", "N&V", "I&D"): tried whole, then by part.
_TOKEN_RE = re.compile(
    r"[A-Za-z]+(?:(?:[/&][A-Za-z]+)+|'[a-z]+)?|\d+(?:\.\d+)?(?:[a-d](?![A-Za-z]))?"
)  # a number keeps a one-letter suffix ("stage 3a", N18.31), not a unit ("5mg")
#: A word of letters and digits ("DM2", "T2DM", "CKD3"), looked up whole in the abbreviations.
_ALNUM_RE = re.compile(r"\b(?:[A-Za-z]+\d|\d+[A-Za-z])[A-Za-z0-9]*\b")
#: Stages written in Roman numerals ("Stage IV CKD") read as the classification writes them.
_ROMAN_STAGES = {"I": "1", "II": "2", "III": "3", "IIIA": "3a", "IIIB": "3b", "IV": "4", "V": "5"}
#: An outline number opening a line ("5. CKD, stage 2", "2) Asthma") or a list run inline
#: after a heading's colon or the previous item's full stop ("A/P: 1. HTN. 2. DM2 ..."): a list
#: position, not a quantity, so it is no token (it had read "5. CKD, stage 3a" as stage 5, and
#: "A/P: 1. DM2 without complications" as type 1 diabetes, E10.9).
_LIST_NUMBER = re.compile(r"(?m)(?:^[ \t\-*•#>]*|[.:;][ \t]+)(\d{1,2})[.)][ \t]")
_PART_SEP = re.compile(r"[/&]")

#: Words with no discriminating value in code descriptions or notes. "without" is not one:
#: "type 2 diabetes mellitus without complications" (E11.9) and "... with unspecified
#: complications" (E11.8) would be the same bag of words.
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


_LETTERS = re.compile(r"[a-z]+")

# General British/Commonwealth → US rules for a lower-case word. Infix rules fire anywhere their
# pattern matches; suffix rules rewrite an ending and keep the inflection after it. Words the rules
# must leave alone, and irregular words, are data: `data/spelling.tsv`.
_INFIX_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # leucocyte, leucopenia, leucaemia → leuk- (then -aemia below)
    (re.compile(r"^leuc(?=[a-z]{3})"), "leuk"),
    # sulphate, sulphonamide, sulphur → sulf-
    (re.compile(r"sulph"), "sulf"),
    # anaemia, haemorrhage, paediatric, aetiology, caecum, paraesthesia; not aer- (aerobic,
    # aerosol, anaerobic), not a word-final Latin -ae (vertebrae, influenzae, pneumoniae) and not a
    # prefix joined to an e- word (intraepithelial, paraesophageal, extraembryonic)
    (
        re.compile(
            r"(?<!intr)(?<!extr)(?<!supr)(?<!infr)(?<!ultr)(?<!contr)(?<!par)ae(?=[a-qs-z])"
            r"|ae(?=sth)"  # but paraesthesia is British para- + aesthesia
        ),
        "e",
    ),
    # British "oe" where it stands for Greek/Latin oi/oe; never a combining "-o-" before an
    # e- word (gastroenterology, thromboembolism, hypoechoic, angioedema stay as they are).
    # oedema, oesophagus, oestrogen
    (re.compile(r"^oe(?=[a-z]{3})"), "e"),
    # lymphoedema, myxoedema; gastro-oesophageal or angiooedema written as one word
    (re.compile(r"(?<=[bcdfghj-np-tv-z])oe(?=dem)|(?<=o)oe(?=dem|soph|str)"), "e"),
    # foetus, foetal, foetor; coeliac; amoeba, entamoeba, amoebic
    (re.compile(r"(?<=^f)oe(?=t)|(?<=^c)oe(?=li)|(?<=m)oe(?=b)"), "e"),
    # diarrhoea, gonorrhoeal, seborrhoeic; dyspnoea, apnoea; homoeopathy, homoeostasis
    (re.compile(r"(?:(?<=rrh)|(?<=pn))oe(?=[ai])|(?<=hom)oe(?=o)"), "e"),
)
#: (pattern, US ending, root ending): group 1 is the word's root, group 2 the inflection after the
#: ending; the root plus the root ending ("contour", "exercise") is looked up in the keep list.
_SUFFIX_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    # tumour(s), colour(ed), behavioural, favourable; hour, four, your, pour are too short
    (
        re.compile(r"^([a-z]{2,})our(s|ed|ing|al|ally|able|ably|ful|less|ite|ites|ism)?$"),
        "or",
        "our",
    ),
    # centre(s), litre, millimetre, titre; fibre, calibre ("centred" is listed: "hatred" is not)
    (re.compile(r"^([a-z]{2,}[tb])re(s)?$"), "er", "re"),
    # generalised, localisation, immunise, hospitalising; not -wise (otherwise, clockwise)
    (re.compile(r"^([a-z]{2,}[a-vx-z])is(e|es|ed|ing|er|ers|ation|ations)$"), "iz", "ise"),
    # analyse, paralysed, dialysing
    (re.compile(r"^([a-z]{2,})ys(e|ed|ing)$"), "yz", "yse"),
)
#: Cheap pre-check: a word none of the rules could touch skips them all.
_SPELLING_HINT = re.compile(r"ae|oe|our|[tb]re|is|ys|leuc|sulph")


@lru_cache(maxsize=1)
def spelling_exceptions() -> dict[str, str]:
    """Word → US form from `data/spelling.tsv`; a row mapping a word to itself keeps it as is.

    The rules consult it before firing: the whole word, the word less a plural "-s", and the root
    form a suffix rule would rewrite ("contoured" keeps its ending because "contour" is listed,
    "immunocompromised" because "compromise" is), so the list holds irregulars and words the rules
    must not touch.
    """
    path = resources.files("model.v1").joinpath("data/spelling.tsv")
    return parse_spelling(path.read_text(encoding="utf-8"))


def parse_spelling(text: str) -> dict[str, str]:
    """Validate and read the rows of a `spelling.tsv` text (errors name the line and value)."""
    out: dict[str, str] = {}
    for lineno, row in enumerate(csv.reader(text.splitlines(), delimiter="\t"), start=1):
        if not row or row[0].startswith("#"):
            continue
        if len(row) != 2:
            raise ValueError(
                f"spelling.tsv line {lineno}: expected 'word<TAB>us_form', got {row!r}"
            )
        word, us = row[0].strip(), row[1].strip()
        for value in (word, us):
            if not _LETTERS.fullmatch(value):
                raise ValueError(
                    f"spelling.tsv line {lineno}: {value!r} is not a lower-case word "
                    "(allowed: letters a-z only)"
                )
        if out.get(word, us) != us:
            raise ValueError(
                f"spelling.tsv line {lineno}: {word!r} maps to both {out[word]!r} and {us!r}"
            )
        out[word] = us
    return out


@lru_cache(maxsize=1)
def _kept_words() -> tuple[str, ...]:
    return tuple(word for word, us in spelling_exceptions().items() if word == us)


def us_spelling(word: str) -> str:
    """The US spelling of a lower-case word ("haemorrhage" → "hemorrhage"); others unchanged."""
    exceptions = spelling_exceptions()
    known = exceptions.get(word)
    if known is not None:
        return known
    if word[-1:] == "s" and (known := exceptions.get(word[:-1])) is not None:
        return known + "s"
    if len(word) < 5 or _SPELLING_HINT.search(word) is None:
        return word
    for pattern, us_ending, root_ending in _SUFFIX_RULES:
        m = pattern.match(word)
        if m is not None:
            # "immunocompromised" keeps its ending as "compromise" does
            if not (m.group(1) + root_ending).endswith(_kept_words()):
                word = m.group(1) + us_ending + (m.group(2) or "")
            break
    for pattern, replacement in _INFIX_RULES:
        word = pattern.sub(replacement, word)
    return word


@lru_cache(maxsize=1 << 16)
def normalize_word(raw: str) -> str:
    """Normalised form of one lower-case word: US spelling, then the stemmer (memoised)."""
    return stem(us_spelling(raw))


@lru_cache(maxsize=1)
def _abbreviation_rows() -> dict[str, str]:
    """Abbreviation (lower case; as written for a capitals-only row) → its expansion as
    written, from `data/abbreviations.tsv`, validated on load."""
    out: dict[str, str] = {}
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
            key = row[0].strip()
            # an all-capitals row ("COLD", "CAP") is read only where the note writes it so:
            # the lower-case word is a different word ("cold", "cap")
            if not (key.isupper() and len(key) > 1):
                key = key.lower()
            if key in out:
                raise ValueError(f"abbreviations.tsv line {lineno}: {key!r} is listed twice")
            out[key] = row[1].strip()
    return out


@lru_cache(maxsize=1)
def abbreviations() -> dict[str, tuple[str, ...]]:
    """Abbreviation → expansion tokens, from `data/abbreviations.tsv` (validated on load).

    A word of an expansion that has a row of its own is expanded once more, as it would be
    written out in the note: "CKD" reads as "chronic kidney renal disease" like "chronic kidney
    disease" does, so it completes the descriptions that say "renal"."""
    rows = _abbreviation_rows()
    out: dict[str, tuple[str, ...]] = {}
    for key, expansion in rows.items():
        words: list[str] = []
        for w in expansion.lower().split():
            inner = rows.get(w) if w != key.lower() else None
            for t in inner.lower().split() if inner else (w,):
                n = normalize_word(t)
                if t not in STOPWORDS and n not in words:
                    words.append(n)
        out[key] = tuple(words)
    return out


T = TypeVar("T")


def _abbreviation(table: Mapping[str, T], word: str, low: str) -> T | None:
    """`word`'s row in an abbreviation table: a capitals-only row where the note writes the
    word in capitals ("COLD"), else the row of its lower-case form `low`."""
    if word.isupper() and word in table:
        return table[word]
    return table.get(low)


#: A capital L or R standing alone before a word names a side ("L TKR", "R knee pain"); not
#: before a digit or a slash ("L5", "R/O"), after a number ("2 L"), nor in lower case.
_SIDES = {"L": ("left",), "R": ("right",)}
_SIDE_NEXT = re.compile(r"[ \t]+[A-Za-z]")
_AFTER_NUMBER = re.compile(r"\d[ \t]*$")  # "2 L of fluid": litres


def tokenize(text: str, *, expand: bool = True, keep_stopwords: bool = False) -> list[Token]:
    """Tokens of `text` with offsets. Abbreviations expand into tokens sharing their offsets."""
    abbr = abbreviations() if expand else {}
    out: list[Token] = []
    list_numbers = {m.start(1) for m in _LIST_NUMBER.finditer(text)}
    # Letters and digits written together ("DM2", "T1DM", "CKD3") are one word where the
    # abbreviation table knows it; otherwise they split as before ("L5" is "l", "5").
    joined: dict[int, tuple[int, tuple[str, ...]]] = {}
    if abbr:
        for m in _ALNUM_RE.finditer(text):
            exp = _abbreviation(abbr, m.group(0), m.group(0).lower())
            if exp is not None:
                joined[m.start()] = (m.end(), exp)
    skip_to = 0
    for m in _TOKEN_RE.finditer(text):
        if m.start() < skip_to or m.start() in list_numbers:
            continue
        if m.start() in joined:
            end, exp = joined[m.start()]
            out.extend(Token(t, m.start(), end) for t in exp)
            skip_to = end
            continue
        word = m.group(0)
        if out and out[-1].norm == "stage" and word.upper() in _ROMAN_STAGES:
            out.append(Token(_ROMAN_STAGES[word.upper()], m.start(), m.end()))  # "stage IV"
            continue
        raw = word.lower()
        if raw.endswith("'s"):  # possessive: "Alzheimer's" and "Alzheimer" are one word
            raw = raw[:-2]
        start, end = m.start(), m.end()
        expansion = _abbreviation(abbr, word, raw)
        if (
            expansion is None
            and word in _SIDES
            and _SIDE_NEXT.match(text, end)
            and not _AFTER_NUMBER.search(text, max(0, start - 3), start)
        ):
            expansion = _SIDES[word]  # "L TKR", "R knee": the side, not a letter
        if expansion is not None:
            out.extend(Token(t, start, end) for t in expansion)
            continue
        if "/" in raw or "&" in raw:  # "s/p", "w/o", "N&V": whole, then parts
            offset = start
            for part in _PART_SEP.split(raw):
                p_exp = abbr.get(part)
                if p_exp is not None:
                    out.extend(Token(t, offset, offset + len(part)) for t in p_exp)
                elif keep_stopwords or part not in STOPWORDS:
                    out.append(Token(normalize_word(part), offset, offset + len(part)))
                offset += len(part) + 1
            continue
        if not keep_stopwords and raw in STOPWORDS:
            continue
        out.append(Token(normalize_word(raw), start, end))
    return out


#: Words opening a "without" scope, and what ends one (a clause break, or a new qualifier).
_POLARITY_OPEN = re.compile(r"\b(?:without|w/o|not)\b", re.IGNORECASE)
_POLARITY_STOP = re.compile(r"[,;:.()\[\]\n]|\b(?:with|w/|and|but|plus)\b", re.IGNORECASE)
#: A token in a "without" scope: its form plus this suffix, so it matches only the same polarity.
NEG_SUFFIX = "~no"
POLARITY_REACH = 4


def mark_polarity(text: str, tokens: Sequence[Token], *, keep_plain: bool = False) -> list[Token]:
    """`tokens` with those governed by "without"/"w/o"/"not" renamed `<norm>~no`.

    Code descriptions separate siblings by what is absent: K21.9 "reflux disease without
    esophagitis" vs K21.00 "with esophagitis, without bleeding"; K40.90 "not specified as
    recurrent" vs K40.91 "recurrent". Order-free matching would read both the same; with the
    polarity in the token, "esophagitis" and "esophagitis~no" are different words. A scope covers
    at most `POLARITY_REACH` content tokens after the opener and ends at punctuation or at "with",
    "and", "but" ("without obstruction or gangrene" covers both).

    `keep_plain` keeps the plain token too (a note's tokens): "without esophagitis" still names
    esophagitis, so a negated mention is found and left to the context analysis (corpora such as
    CodiEsp code some negated findings), while "with esophagitis" no longer completes "without
    esophagitis".
    """
    scopes: list[tuple[int, int]] = []
    for m in _POLARITY_OPEN.finditer(text):
        stop = _POLARITY_STOP.search(text, m.end())
        scopes.append((m.end(), stop.start() if stop else len(text)))
    if not scopes:
        return list(tokens)
    out: list[Token] = []
    i = 0
    used = 0
    for tok in tokens:
        while i < len(scopes) and scopes[i][1] <= tok.start:
            i += 1
            used = 0
        if i < len(scopes) and scopes[i][0] <= tok.start < scopes[i][1] and used < POLARITY_REACH:
            used += 1
            if keep_plain:
                out.append(tok)
            out.append(Token(tok.norm + NEG_SUFFIX, tok.start, tok.end))
        else:
            out.append(tok)
    return out


def normalize_phrase(text: str) -> tuple[str, ...]:
    """Normalised content tokens of a description or synonym (order kept, duplicates dropped;
    tokens in a "without" scope carry `NEG_SUFFIX`, see `mark_polarity`)."""
    seen: dict[str, None] = {}
    for tok in mark_polarity(text, tokenize(text)):
        if tok.norm not in DESCRIPTION_ONLY_STOP:
            seen.setdefault(tok.norm, None)
    return tuple(seen)


_WORD_CHAR = re.compile(r"\w")


def occurrences(text: str, mention: str) -> list[tuple[int, int]]:
    """Every whole-word, case-insensitive occurrence of `mention` in `text`, in text order."""
    pattern = re.compile(r"(?<!\w)" + re.escape(mention) + r"(?!\w)", re.IGNORECASE)
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


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


@lru_cache(maxsize=1)
def _expansions() -> dict[str, str]:
    """Abbreviation → its expansion as plain words (unstemmed), from `abbreviations.tsv`."""
    return {key: expansion.lower() for key, expansion in _abbreviation_rows().items()}


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[/&][A-Za-z0-9]+)*")


def classifier_text(text: str) -> str:
    """The note as the text classifier reads it: US spelling, and every known abbreviation
    followed by its expansion ("T2DM" → "T2DM type 2 diabetes mellitus").

    A classifier trained on "type 2 diabetes" then recognises "T2DM", and one trained on "anemia"
    recognises "anaemia", as the phrase matcher already does. Only for features: evidence
    offsets always point into the original text.
    """
    expansions = _expansions()

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        low = word.lower()
        expansion = _abbreviation(expansions, word, low)
        if expansion is not None:
            return f"{word} {expansion}"
        us = us_spelling(low) if len(low) >= 5 else low
        return word if us == low else us

    return _WORD.sub(repl, text)
