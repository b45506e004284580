"""Two reference systems a user might pick instead of chartcoder's model.

- `TfidfLogRegBaseline`: TF-IDF word n-grams + one-vs-rest L2 logistic regression
  (liblinear), one binary model per code seen at least `min_count` times in training.
- `DescriptionMatchBaseline`: finds ICD-10-CM descriptions and inclusion terms in the text
  (lowercased word sequences, with "unspecified", "NOS", parentheses and brackets removed; a
  category header's phrases point to its unspecified billable child). No negation handling, on
  purpose: it is what a plain dictionary matcher does. Each match type's score is the precision
  that match type reached on the training notes.

Both follow the estimator conventions (kwargs stored in `__init__`, fitted state ends in `_`),
fit on `LabeledNote`s and predict dicts in the `chartcoder predict` JSONL format, ranked by
score, at most `top_k` codes per system, with evidence spans into the exact text. A code is
`accepted` when its score reaches `accept_score` (0.95 by default, the human-coder bar).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from evaluation.datasets import ICD10CM, LabeledNote

logger = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"(?u)\b\w\w+\b")


class NotFittedError(RuntimeError):
    """`predict` called before `fit`."""


def _token_spans(text: str, pattern: re.Pattern[str] = TOKEN_RE) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in pattern.finditer(text)]


def _code_dict(
    system: str,
    code: str,
    description: str,
    score: float,
    rank: int,
    accept: float,
    text: str,
    spans: Iterable[tuple[int, int]],
) -> dict[str, Any]:
    return {
        "system": system,
        "code": code,
        "description": description,
        "score": round(float(score), 6),
        "rank": rank,
        "accepted": bool(score >= accept),
        "evidence": [{"start": s, "end": e, "text": text[s:e]} for s, e in spans],
    }


# --------------------------------------------------------------------------------------------
# (a) TF-IDF + one-vs-rest logistic regression


class TfidfLogRegBaseline:
    """TF-IDF word n-grams + one-vs-rest logistic regression over the codes seen in training.

    Defaults were chosen on a hold-out of CodiEsp *train* only (400 notes fit, 100 scored; dev
    never looked at): MAP 0.153 for uni+bi-grams at C=10, 0.198 uni+bi-grams at C=10,000,
    0.215 unigrams at C=1,000, 0.221 unigrams at C=10,000 (min_df=2 throughout). Pass
    `ngram_range=(1, 2)` for the uni/bi-gram variant.

    Evidence: the (up to 3) n-grams of the note that add most to the code's logit, located at
    their first occurrence in the text.
    """

    name = "tfidf-logreg"

    def __init__(
        self,
        *,
        ngram_range: tuple[int, int] = (1, 1),
        min_df: int = 2,
        max_features: int | None = 50_000,
        C: float = 10_000.0,
        min_count: int = 1,
        top_k: int = 30,
        accept_score: float = 0.95,
        show_progress: bool = False,
    ) -> None:
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_features = max_features
        self.C = C
        self.min_count = min_count
        self.top_k = top_k
        self.accept_score = accept_score
        self.show_progress = show_progress

    def fit(self, notes: Sequence[LabeledNote]) -> TfidfLogRegBaseline:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from tqdm import tqdm

        if not notes:
            raise ValueError("cannot fit on an empty list of notes")
        counts = Counter(key for n in notes for key in n.gold_set())
        labels = sorted(k for k, v in counts.items() if v >= self.min_count)
        if not labels:
            raise ValueError(f"no code occurs at least min_count={self.min_count} times")
        self.vectorizer_ = TfidfVectorizer(
            ngram_range=self.ngram_range,
            min_df=min(self.min_df, len(notes)),
            max_features=self.max_features,
            sublinear_tf=True,
            token_pattern=TOKEN_RE.pattern,
            dtype=np.float32,
        )
        X = self.vectorizer_.fit_transform([n.text for n in notes])
        index = {k: i for i, k in enumerate(labels)}
        Y = np.zeros((len(notes), len(labels)), dtype=bool)
        for row, n in enumerate(notes):
            for key in n.gold_set():
                if key in index:
                    Y[row, index[key]] = True
        # the dual solver is the fast one when notes are fewer than features (same optimum)
        dual = X.shape[0] < X.shape[1]
        W = np.zeros((X.shape[1], len(labels)), dtype=np.float32)
        b = np.zeros(len(labels), dtype=np.float32)
        cols = tqdm(range(len(labels)), desc="tfidf-logreg", disable=not self.show_progress)
        # liblinear's default 100 iterations (the setting the defaults were chosen with) often
        # stop short at large C on separable data; counted and logged once, not warned per code
        unconverged = 0
        for j in cols:
            y = Y[:, j]
            if y.all():  # a code on every note: constant high score
                b[j] = 10.0
                continue
            clf = LogisticRegression(C=self.C, solver="liblinear", dual=dual, random_state=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                clf.fit(X, y)
            unconverged += any(issubclass(w.category, ConvergenceWarning) for w in caught)
            W[:, j] = clf.coef_[0]
            b[j] = clf.intercept_[0]
        self.labels_ = labels
        self.coef_ = W
        self.intercept_ = b
        self.feature_names_ = self.vectorizer_.get_feature_names_out().tolist()
        self.model_version = f"{self.name}-{len(labels)}codes"
        logger.info(
            "tfidf-logreg: %d codes, %d features, %d fits stopped at the iteration limit",
            len(labels),
            X.shape[1],
            unconverged,
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("TfidfLogRegBaseline is not fitted; call fit() first")

    def _first_occurrences(self, text: str) -> dict[str, tuple[int, int]]:
        """Each n-gram of the text (as the vectorizer writes it) -> its first character span."""
        toks = _token_spans(text)
        first: dict[str, tuple[int, int]] = {}
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            for i in range(len(toks) - n + 1):
                key = " ".join(t[0] for t in toks[i : i + n])
                first.setdefault(key, (toks[i][1], toks[i + n - 1][2]))
        return first

    def _evidence(
        self, first: dict[str, tuple[int, int]], row: Any, j: int
    ) -> list[tuple[int, int]]:
        """Spans of the (up to 3) n-grams adding most to label j's logit, strongest first."""
        contrib = row.data * self.coef_[row.indices, j]
        order = np.argsort(-contrib)[:3]
        grams = [self.feature_names_[row.indices[i]] for i in order if contrib[i] > 0]
        return [first[g] for g in grams if g in first]

    def predict(self, notes: Sequence[LabeledNote], batch_size: int = 256) -> list[dict[str, Any]]:
        self._check_fitted()
        systems = sorted({s for s, _ in self.labels_})
        cols = {s: np.array([j for j, k in enumerate(self.labels_) if k[0] == s]) for s in systems}
        out: list[dict[str, Any]] = []
        for start in range(0, len(notes), batch_size):
            batch = notes[start : start + batch_size]
            X = self.vectorizer_.transform([n.text for n in batch])
            logits = np.asarray(X @ self.coef_) + self.intercept_
            probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
            for r, note in enumerate(batch):
                row = X.getrow(r)
                first = self._first_occurrences(note.text)
                codes: list[dict[str, Any]] = []
                for s in systems:
                    p = probs[r, cols[s]]
                    k = min(self.top_k, len(p))
                    top = np.argpartition(-p, k - 1)[:k]
                    for i in top[np.argsort(-p[top], kind="stable")]:
                        j = int(cols[s][i])
                        codes.append(
                            _code_dict(
                                s,
                                self.labels_[j][1],
                                "",
                                float(p[i]),
                                0,
                                self.accept_score,
                                note.text,
                                self._evidence(first, row, j),
                            )
                        )
                out.append(_finish(note.id, self.model_version, codes))
        return out


def _finish(note_id: str, version: str, codes: list[dict[str, Any]]) -> dict[str, Any]:
    codes.sort(key=lambda c: -c["score"])
    for rank, c in enumerate(codes, start=1):
        c["rank"] = rank
    return {"id": note_id, "model_version": version, "codes": codes}


# --------------------------------------------------------------------------------------------
# (b) ICD-10-CM description matching

_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DROP_RE = re.compile(r",?\s*\b(unspecified|not elsewhere classified|nos)\b", flags=re.IGNORECASE)
_MIN_SINGLE_TOKEN = 5  # single-word phrases shorter than this are too ambiguous ("pain")


def normalise_phrase(phrase: str) -> tuple[str, ...]:
    """Lowercased word tokens of a description, without parentheses, brackets, NOS, unspecified."""
    cleaned = _DROP_RE.sub(" ", _PAREN_RE.sub(" ", phrase))
    return tuple(t for t, _, _ in _token_spans(cleaned))


def icd10cm_phrases() -> list[tuple[str, str, str, str]]:
    """`(code, description, kind, phrase)` for every billable ICD-10-CM code.

    kind: "description" (the code's own description), "inclusion" (its inclusion terms and
    includes notes), "header" (description or terms of a category/subcategory header, mapped to
    its default billable child, see `_default_child`). Read from `model.codesets.get_catalog()`;
    falls back to `simple_icd_10_cm` (the same public CMS release) when the catalog is absent.
    """
    try:
        from model.codesets import get_catalog
    except ImportError:
        return _phrases_simple_icd()
    cat = get_catalog()
    out: list[tuple[str, str, str, str]] = []
    for e in cat.entries(ICD10CM, billable_only=False):
        if e.kind == "block":
            continue
        if e.billable:
            out.append((e.code, e.description, "description", e.description))
            out.extend((e.code, e.description, "inclusion", t) for t in e.inclusion_terms)
            continue
        leaves = {d: cat.get(ICD10CM, d) for d in cat.billable_descendants(e.code)}
        child = _default_child({d: x.description.lower() for d, x in leaves.items() if x})
        if child is None:
            continue
        child_desc = leaves[child].description  # type: ignore[union-attr]
        out.extend((child, child_desc, "header", t) for t in [e.description, *e.inclusion_terms])
    return out


def _phrases_simple_icd() -> list[tuple[str, str, str, str]]:
    import simple_icd_10_cm as cm

    out: list[tuple[str, str, str, str]] = []
    for code in cm.get_all_codes(with_dots=True):
        if cm.is_chapter_or_block(code):
            continue
        desc = cm.get_description(code)
        terms = [*cm.get_inclusion_term(code), *cm.get_includes(code)]
        if cm.is_leaf(code):
            out.append((code, desc, "description", desc))
            out.extend((code, desc, "inclusion", t) for t in terms)
            continue
        leaves = [d for d in cm.get_descendants(code) if cm.is_leaf(d)]
        child = _default_child({d: cm.get_description(d).lower() for d in leaves})
        if child is None:
            continue
        child_desc = cm.get_description(child)
        out.extend((child, child_desc, "header", t) for t in [desc, *terms])
    return out


def _default_child(leaves: dict[str, str]) -> str | None:
    """The billable child a header means when written alone, from lowercased descriptions.

    Preference: "unspecified" without " with " (J45 -> J45.909), then "without"/"uncomplicated"
    (E11 -> E11.9), then any "unspecified", then the only child; shortest code first.
    """
    tiers = [
        [d for d, t in leaves.items() if "unspecified" in t and " with " not in t],
        [d for d, t in leaves.items() if "without" in t or "uncomplicated" in t],
        [d for d, t in leaves.items() if "unspecified" in t],
        list(leaves) if len(leaves) == 1 else [],
    ]
    for tier in tiers:
        if tier:
            return min(tier, key=lambda d: (len(d), d))
    return None


class DescriptionMatchBaseline:
    """Dictionary matching of ICD-10-CM descriptions and inclusion terms in the note text.

    `phrases` (`(code, description, kind, phrase)` rows, see `icd10cm_phrases`) replaces the
    full ICD-10-CM release, e.g. for a small test; by default the whole release is indexed.
    """

    name = "description-match"
    KINDS = ("description", "inclusion", "header")

    def __init__(
        self,
        *,
        phrases: Sequence[tuple[str, str, str, str]] | None = None,
        max_phrase_tokens: int = 12,
        top_k: int = 30,
        accept_score: float = 0.95,
    ) -> None:
        self.phrases = phrases
        self.max_phrase_tokens = max_phrase_tokens
        self.top_k = top_k
        self.accept_score = accept_score

    def _build_index(self) -> None:
        index: dict[tuple[str, ...], dict[str, str]] = defaultdict(dict)
        descriptions: dict[str, str] = {}
        phrases = icd10cm_phrases() if self.phrases is None else self.phrases
        for code, desc, kind, phrase in phrases:
            if kind not in self.KINDS:
                raise ValueError(
                    f"phrase kind must be one of {', '.join(self.KINDS)}; got {kind!r}"
                )
            toks = normalise_phrase(phrase)
            if not toks or len(toks) > self.max_phrase_tokens:
                continue
            if len(toks) == 1 and len(toks[0]) < _MIN_SINGLE_TOKEN:
                continue
            descriptions[code] = desc
            # the most specific kind wins when one phrase reaches a code twice
            prev = index[toks].get(code)
            if prev is None or self.KINDS.index(kind) < self.KINDS.index(prev):
                index[toks][code] = kind
        self.index_ = dict(index)
        self.descriptions_ = descriptions

    def _matches(self, text: str) -> dict[str, tuple[tuple[str, int], list[tuple[int, int]]]]:
        """code -> (best bucket (kind, capped length), spans of its matches in text order)."""
        toks = _token_spans(text)
        found: dict[str, tuple[tuple[str, int], list[tuple[int, int]]]] = {}
        for i in range(len(toks)):
            for n in range(1, min(self.max_phrase_tokens, len(toks) - i) + 1):
                hit = self.index_.get(tuple(t[0] for t in toks[i : i + n]))
                if not hit:
                    continue
                span = (toks[i][1], toks[i + n - 1][2])
                for code, kind in hit.items():
                    bucket = (kind, min(n, 5))
                    best, spans = found.get(code, (bucket, []))
                    if self._rank_bucket(bucket) > self._rank_bucket(best):
                        best = bucket
                    spans.append(span)
                    found[code] = (best, spans)
        return found

    def _rank_bucket(self, bucket: tuple[str, int]) -> tuple[int, int]:
        return (bucket[1], -self.KINDS.index(bucket[0]))

    def fit(self, notes: Sequence[LabeledNote]) -> DescriptionMatchBaseline:
        """Build the phrase index and learn each match type's precision on `notes`."""
        self._build_index()
        hits: Counter[tuple[str, int]] = Counter()
        seen: Counter[tuple[str, int]] = Counter()
        for note in notes:
            gold = {c for s, c in note.gold_set(ICD10CM)}
            for code, (bucket, _) in self._matches(note.text).items():
                seen[bucket] += 1
                hits[bucket] += code in gold
        # Laplace-smoothed precision; an unseen bucket gets a weak prior ranked by its length
        self.bucket_scores_ = {
            (k, n): (hits[(k, n)] + 1) / (seen[(k, n)] + 2) if seen[(k, n)] else 0.05 * n
            for k in self.KINDS
            for n in range(1, 6)
        }
        self.model_version = f"{self.name}-icd10cm"
        return self

    def predict(self, notes: Sequence[LabeledNote]) -> list[dict[str, Any]]:
        if not hasattr(self, "bucket_scores_"):
            raise NotFittedError("DescriptionMatchBaseline is not fitted; call fit() first")
        out = []
        for note in notes:
            found = self._matches(note.text)
            ranked = sorted(
                found.items(),
                key=lambda kv: (-self.bucket_scores_[kv[1][0]], -len(kv[1][1]), kv[0]),
            )[: self.top_k]
            codes = [
                _code_dict(
                    ICD10CM,
                    code,
                    self.descriptions_.get(code, ""),
                    self.bucket_scores_[bucket],
                    0,
                    self.accept_score,
                    note.text,
                    spans[:3],
                )
                for code, (bucket, spans) in ranked
            ]
            # ranks follow the list order (ties on score keep the occurrence-count order)
            for rank, c in enumerate(codes, start=1):
                c["rank"] = rank
            out.append({"id": note.id, "model_version": self.model_version, "codes": codes})
        return out


BASELINES: dict[str, type[TfidfLogRegBaseline] | type[DescriptionMatchBaseline]] = {
    TfidfLogRegBaseline.name: TfidfLogRegBaseline,
    DescriptionMatchBaseline.name: DescriptionMatchBaseline,
}
