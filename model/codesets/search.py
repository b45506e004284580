"""Ranked text search over code descriptions, inclusion terms and labels.

An inverted index in CSR form (numpy arrays) with BM25F-style weights computed once at build
time: a description token counts 1, an inclusion-term token counts 0.5. A query sums the
weights of its terms per entry with `np.bincount` and multiplies by the squared share of query
terms the entry contains, so entries that say everything the query says win; an entry whose
description or inclusion term says exactly the query (ignoring ICD-10-CM's parenthesised
nonessential modifiers) gets a further boost. Abbreviations
(`t2dm`, `htn`, `cbc`, ...) expand through `data/search_synonyms.tsv`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from importlib import resources

import numpy as np
import numpy.typing as npt

from model.codesets.curated import CodeSetDataError
from model.codesets.entry import CodeEntry

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "is", "of", "on", "or", "the", "to"}
)
K1 = 1.2
B = 0.75
INCLUSION_WEIGHT = 0.5
#: Multiplier for entries whose description or inclusion term, without its parenthesised
#: nonessential modifiers, says exactly what the query says (`htn` -> I10 "hypertension").
PHRASE_BOOST = 1.5
_VAGUE = re.compile(r"^\s*(unspecified|site not specified|not elsewhere classified|nos\b)", re.I)
_PARENS = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def stem(token: str) -> str:
    """A light plural stemmer applied to documents and queries alike."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


_STEMS: dict[str, str] = {w: "" for w in _STOPWORDS}  # memo; "" marks a stopword


def tokenize(text: str) -> list[str]:
    """Lower-case, split on anything not a letter or digit, drop stopwords, stem."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        stemmed = _STEMS.get(tok)
        if stemmed is None:
            stemmed = _STEMS[tok] = stem(tok)
        if stemmed:
            out.append(stemmed)
    return out


class _Segments:
    """Tokenizes comma-separated segments once: 7th-character codes repeat their parent's text."""

    def __init__(self) -> None:
        self.memo: dict[str, list[str]] = {}

    def tokens(self, parts: list[str]) -> list[str]:
        out: list[str] = []
        for part in parts:
            toks = self.memo.get(part)
            if toks is None:
                toks = self.memo[part] = tokenize(part)
            out.extend(toks)
        return out


def _core(text: str, tokens: list[str], segments: _Segments) -> tuple[str, ...]:
    """Sorted distinct tokens of what `text` names, without ICD-10-CM's nonessential parts.

    Drops parenthesised modifiers and trailing unspecified qualifiers:
    `"Pneumonia, unspecified organism"` and `"Urinary tract infection, site not specified"`
    name `pneumonia` and `urinary tract infection`.
    """
    if "(" in text or "[" in text or ", " in text:
        parts = (_PARENS.sub(" ", text) if "(" in text or "[" in text else text).split(", ")
        tokens = segments.tokens([parts[0]] + [p for p in parts[1:] if not _VAGUE.match(p)])
    return tuple(sorted(set(tokens)))


def load_synonyms() -> dict[str, str]:
    """Read and validate `data/search_synonyms.tsv` (abbreviation -> expansion)."""
    name = "search_synonyms.tsv"
    text = resources.files("model.codesets").joinpath("data", name).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["term", "expansion"]:
        raise CodeSetDataError(f"{name}: header must be 'term<TAB>expansion'")
    out: dict[str, str] = {}
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != 2 or not cells[0].strip() or not cells[1].strip():
            raise CodeSetDataError(f"{name} line {i}: expected 'term<TAB>expansion'")
        term, expansion = cells[0].strip(), cells[1].strip()
        if term != term.lower() or " " in term:
            raise CodeSetDataError(f"{name} line {i}: term {term!r} must be one lower-case word")
        if term in out:
            raise CodeSetDataError(f"{name} line {i}: duplicate term {term!r}")
        out[term] = expansion
    return out


class SearchIndex:
    """Inverted index over a fixed list of entries; `search` returns `(position, score)`."""

    def __init__(self, entries: Sequence[CodeEntry], synonyms: Mapping[str, str]) -> None:
        self.synonyms = dict(synonyms)
        self.size = len(entries)
        vocab: dict[str, int] = {}
        term_ids: list[int] = []
        doc_ids: list[int] = []
        tfs: list[float] = []
        phrases: dict[tuple[str, ...], list[int]] = {}
        lengths = np.zeros(self.size, dtype=np.float32)
        segments = _Segments()
        for doc, entry in enumerate(entries):
            desc = segments.tokens(entry.description.split(", "))
            counts: dict[str, float] = dict(Counter(desc))
            n_incl = 0
            for term in entry.inclusion_terms:
                toks = tokenize(term)
                n_incl += len(toks)
                for tok in toks:
                    counts[tok] = counts.get(tok, 0.0) + INCLUSION_WEIGHT
                phrases.setdefault(_core(term, toks, segments), []).append(doc)
            phrases.setdefault(_core(entry.description, desc, segments), []).append(doc)
            lengths[doc] = len(desc) + INCLUSION_WEIGHT * n_incl
            for tok, count in counts.items():
                term_ids.append(vocab.setdefault(tok, len(vocab)))
                doc_ids.append(doc)
                tfs.append(count)
        self.phrases = phrases
        self.billable = np.fromiter((e.billable for e in entries), dtype=bool, count=self.size)
        self.vocab = vocab
        terms = np.asarray(term_ids, dtype=np.int32)
        docs = np.asarray(doc_ids, dtype=np.int32)
        tf = np.asarray(tfs, dtype=np.float32)
        order = np.argsort(terms, kind="stable")
        terms, docs, tf = terms[order], docs[order], tf[order]
        df = np.bincount(terms, minlength=len(vocab)).astype(np.float64)
        idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg: float = float(lengths.mean()) if self.size else 1.0
        norm: npt.NDArray[np.float32] = K1 * (1.0 - B + B * lengths[docs] / max(avg, 1e-6))
        self.weights: npt.NDArray[np.float32] = (idf[terms] * tf * (K1 + 1.0) / (tf + norm)).astype(
            np.float32
        )
        self.docs: npt.NDArray[np.int32] = docs
        self.offsets: npt.NDArray[np.int64] = np.concatenate(
            [[0], np.cumsum(np.bincount(terms, minlength=len(vocab)))]
        ).astype(np.int64)

    def query_terms(self, query: str) -> list[str]:
        """The distinct index terms of a query after abbreviation expansion."""
        words: list[str] = []
        for raw in query.lower().split():
            word = raw.strip(",.;:()[]")
            words.append(self.synonyms.get(word, word))
        seen: dict[str, None] = {}
        for tok in tokenize(" ".join(words)):
            seen.setdefault(tok, None)
        return list(seen)

    def search(
        self, query: str, mask: npt.NDArray[np.bool_] | None, limit: int
    ) -> list[tuple[int, float]]:
        """Top `limit` `(position, score)` pairs; `mask` (bool per entry) filters positions."""
        terms = [t for t in self.query_terms(query) if t in self.vocab]
        if not terms or limit <= 0:
            return []
        slices = [
            slice(self.offsets[i], self.offsets[i + 1])
            for i in map(self.vocab.get, terms)
            if i is not None
        ]
        docs = np.concatenate([self.docs[s] for s in slices])
        weights = np.concatenate([self.weights[s] for s in slices])
        coverage = np.bincount(docs, minlength=self.size) / len(terms)
        scores = np.asarray(np.bincount(docs, weights=weights, minlength=self.size), np.float64)
        scores = scores * coverage * coverage
        exact = self.phrases.get(tuple(sorted(terms)))
        if exact is not None:
            scores[np.asarray(exact, dtype=np.int64)] *= PHRASE_BOOST
        if mask is not None:
            scores[~mask] = 0.0
        hits = np.flatnonzero(scores > 0)
        keep = 2 * limit  # room for ties at the cut
        if hits.size > keep:
            hits = hits[np.argpartition(-scores[hits], keep - 1)[:keep]]
        found = zip(hits.tolist(), scores[hits].tolist(), self.billable[hits].tolist(), strict=True)
        # Equal scores (a header and its billable twin): billable first, then release order.
        ranked = sorted(found, key=lambda h: (-round(h[1], 6), not h[2], h[0]))
        return [(d, score) for d, score, _ in ranked[:limit]]
