"""Ranked text search over code descriptions, inclusion terms and labels.

An inverted index in CSR form (numpy arrays) with BM25F-style weights computed once at build
time: a description token counts 1, an inclusion-term token counts 0.5. A query sums the
weights of its terms per entry with `np.bincount` and multiplies by the squared share of query
terms the entry contains, so entries that say everything the query says win. Abbreviations
(`t2dm`, `htn`, `cbc`, ...) expand through `data/search_synonyms.tsv`.
"""

from __future__ import annotations

import re
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


def stem(token: str) -> str:
    """A light plural stemmer applied to documents and queries alike."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Lower-case, split on anything not a letter or digit, drop stopwords, stem."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


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
        lengths = np.zeros(self.size, dtype=np.float32)
        for doc, entry in enumerate(entries):
            counts: dict[str, float] = {}
            desc = tokenize(entry.description)
            for tok in desc:
                counts[tok] = counts.get(tok, 0.0) + 1.0
            n_incl = 0
            for term in entry.inclusion_terms:
                toks = tokenize(term)
                n_incl += len(toks)
                for tok in toks:
                    counts[tok] = counts.get(tok, 0.0) + INCLUSION_WEIGHT
            lengths[doc] = len(desc) + INCLUSION_WEIGHT * n_incl
            for tok, tf in counts.items():
                term_ids.append(vocab.setdefault(tok, len(vocab)))
                doc_ids.append(doc)
                tfs.append(tf)
        self.vocab = vocab
        terms = np.asarray(term_ids, dtype=np.int32)
        docs = np.asarray(doc_ids, dtype=np.int32)
        tf = np.asarray(tfs, dtype=np.float32)
        order = np.argsort(terms, kind="stable")
        terms, docs, tf = terms[order], docs[order], tf[order]
        df = np.bincount(terms, minlength=len(vocab)).astype(np.float64)
        idf = np.log1p((self.size - df + 0.5) / (df + 0.5)).astype(np.float32)
        avg = float(lengths.mean()) if self.size else 1.0
        norm = K1 * (1.0 - B + B * lengths[docs] / max(avg, 1e-6))
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
        scores = np.bincount(docs, weights=weights, minlength=self.size)
        matched = np.bincount(docs, minlength=self.size)
        scores *= (matched / len(terms)) ** 2
        if mask is not None:
            scores[~mask] = 0.0
        hits = np.flatnonzero(scores > 0)
        if hits.size > limit:
            top = np.argpartition(-scores[hits], limit - 1)[:limit]
            hits = hits[top]
        ranked = sorted(hits.tolist(), key=lambda d: (-scores[d], d))
        return [(int(d), float(scores[d])) for d in ranked]
