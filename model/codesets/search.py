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
from array import array
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from model.codesets.curated import CodeSetDataError, read_data
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


class _Vocabulary:
    """Term ids per comma-separated segment, computed once per distinct segment (7th-character
    codes repeat their parent's text, so most segments recur many times)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.memo: dict[str, list[int]] = {}

    def segment(self, text: str) -> list[int]:
        found = self.memo.get(text)
        if found is None:
            ids = self.ids
            found = self.memo[text] = [ids.setdefault(t, len(ids)) for t in tokenize(text)]
        return found

    def core(self, text: str) -> tuple[int, ...]:
        """Sorted distinct term ids of what `text` names, without ICD-10-CM's nonessential
        parts: parenthesised modifiers and trailing unspecified qualifiers
        (`"Pneumonia, unspecified organism"` names `pneumonia`)."""
        if "(" in text or "[" in text:
            text = _PARENS.sub(" ", text)
        parts = text.split(", ")
        ids: set[int] = set(self.segment(parts[0]))
        for part in parts[1:]:
            if not _VAGUE.match(part):
                ids.update(self.segment(part))
        return tuple(sorted(ids))


def load_synonyms(text: str | None = None) -> dict[str, str]:
    """Read and validate `data/search_synonyms.tsv` (or `text` in its format)."""
    name = "search_synonyms.tsv"
    if text is None:
        text = read_data(name)
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
        vocab = _Vocabulary()
        # (doc, term) pairs, one per token occurrence; weights 1 (description) or 0.5
        pair_terms: array[int] = array("i")
        pair_docs: array[int] = array("i")
        incl_terms: array[int] = array("i")
        incl_docs: array[int] = array("i")
        lengths = np.zeros(self.size, dtype=np.float32)
        phrases: dict[tuple[int, ...], list[int]] = {}
        for doc, entry in enumerate(entries):
            n = len(pair_terms)
            for part in entry.description.split(", "):
                pair_terms.extend(vocab.segment(part))
            n_desc = len(pair_terms) - n
            pair_docs.extend([doc] * n_desc)
            n_incl = 0
            for term in entry.inclusion_terms:
                ids = vocab.segment(term)
                incl_terms.extend(ids)
                n_incl += len(ids)
                phrases.setdefault(vocab.core(term), []).append(doc)
            incl_docs.extend([doc] * n_incl)
            lengths[doc] = n_desc + INCLUSION_WEIGHT * n_incl
            if not (entry.kind == "code" and entry.seventh_characters):  # never an exact phrase
                phrases.setdefault(vocab.core(entry.description), []).append(doc)
        self.vocab = vocab.ids
        self.phrases = phrases
        self.billable = np.fromiter((e.billable for e in entries), dtype=bool, count=self.size)
        n_terms = max(len(vocab.ids), 1)
        keys = np.concatenate(
            [
                np.frombuffer(pair_docs, dtype=np.int32).astype(np.int64) * n_terms
                + np.frombuffer(pair_terms, dtype=np.int32),
                np.frombuffer(incl_docs, dtype=np.int32).astype(np.int64) * n_terms
                + np.frombuffer(incl_terms, dtype=np.int32),
            ]
        )
        occurrence = np.concatenate(
            [
                np.ones(len(pair_terms), np.float32),
                np.full(len(incl_terms), INCLUSION_WEIGHT, np.float32),
            ]
        )
        # one posting per distinct (term, doc), ordered by term then doc
        term_major = (keys % n_terms) * self.size + keys // n_terms
        unique, inverse = np.unique(term_major, return_inverse=True)
        tf = np.bincount(inverse, weights=occurrence).astype(np.float32)
        terms = (unique // self.size).astype(np.int32)
        docs = (unique % self.size).astype(np.int32)
        df = np.bincount(terms, minlength=n_terms).astype(np.float64)
        idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg: float = float(lengths.mean()) if self.size else 1.0
        norm: npt.NDArray[np.float32] = K1 * (1.0 - B + B * lengths[docs] / max(avg, 1e-6))
        self.weights: npt.NDArray[np.float32] = (idf[terms] * tf * (K1 + 1.0) / (tf + norm)).astype(
            np.float32
        )
        self.docs: npt.NDArray[np.int32] = docs
        self.offsets: npt.NDArray[np.int64] = np.concatenate(
            [[0], np.cumsum(np.bincount(terms, minlength=n_terms))]
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
        exact = self.phrases.get(tuple(sorted(self.vocab[t] for t in terms)))
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
