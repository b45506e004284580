"""Sentence-level phrase matching over the whole code-set dictionary with one sparse product.

Each phrase is an IDF-weighted bag of normalised tokens whose weights sum to one. A sentence is a
binary bag of its tokens. `coverage = sentences @ phrases.T` is then the weighted share of each
phrase's tokens present in each sentence (order-free, within one sentence).

Misspellings: a note word of at least `MIN_FUZZY` letters that no phrase uses is read as the
phrase word one deletion, insertion or substitution away ("fngus" fungus, "fracction" fraction,
"diabetse" diabetes), the one most phrases use when several are; a lookup table of single
deletions (SymSpell) makes that a few dictionary probes per unknown word.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import numpy as np
import scipy.sparse as sp

from model.v1.lexicon import Phrase
from model.v1.tokens import NEG_SUFFIX, Token, tokenize

MIN_FUZZY = 5

#: Derivational endings that tie an adjective to its noun ("menopausal" menopause, "dietary"
#: diet, "anxious" anxiety, "anemic" anemia, "obstructive" obstruction), tried longest first.
_DERIVATIONAL = tuple(
    sorted(
        ("ization", "ation", "atory", "ional", "iety", "ious", "ical", "atic", "ancy", "ency",
         "ence", "ety", "ity", "ous", "ary", "ant", "ent", "ery", "ial", "ive", "ion", "ic", "al",
         "ia", "y", "e"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
#: Words whose derived forms mean something else to a coder: "familial hypercholesterolemia"
#: is not a family history, "secondary" is not "second (degree)", "presents with" is not a
#: "presence of" status.
_NO_FAMILY = frozenset(
    {"family", "familial", "second", "secondary", "generic", "general", "present", "presence"}
)
MIN_FAMILY = 6  # letters: shorter words are their own family ("diet", "acute", "renal")


def derivational_key(word: str) -> str:
    """The word family a (normalised) word belongs to: the word less one derivational ending,
    keeping at least four letters; a short or listed word is its own family."""
    if len(word) < MIN_FAMILY or not word.isalpha() or word in _NO_FAMILY:
        return word
    for suffix in _DERIVATIONAL:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True, slots=True)
class CodeMatch:
    """The best mention of one code in one note."""

    code_index: int
    coverage: float  # weighted share of the phrase's tokens found, 0..1
    weight: float  # summed IDF of the matched tokens (specificity)
    n_tokens: int  # tokens in the best phrase
    source: int
    sentence: int  # index of the sentence holding the best mention
    start: int  # character span of the mention (matched tokens), end-exclusive
    end: int
    n_sentences: int  # sentences where some phrase of the code reaches `strong` coverage
    support: float  # summed coverage over all matched sentences
    #: share of the covered phrase weight whose words stand together in the mention span (1.0:
    #: all of them; "primary" in "... hypertensive heart disease, ..., primary hypothyroidism"
    #: completes "primary hypertension" from two places: 0.5)
    compact: float = 1.0
    #: the phrase misses a word whose rival (`data/contrasts.json`) the mention states: "type 1
    #: diabetes mellitus without complications" on "DM2 without complications"
    contradicted: bool = False


class PhraseMatcher:
    """Fitted phrase index. `codes_` lists (system, code); phrases point into it."""

    def __init__(
        self, *, min_coverage: float = 0.5, strong: float = 0.8, min_phrase_weight: float = 3.0
    ) -> None:
        self.min_coverage = min_coverage
        self.strong = strong
        self.min_phrase_weight = min_phrase_weight

    def fit(self, phrases: Sequence[Phrase]) -> PhraseMatcher:
        vocab: dict[str, int] = {}
        df: dict[str, int] = {}
        for ph in phrases:
            for t in ph.tokens:
                df[t] = df.get(t, 0) + 1
        n = max(1, len(phrases))
        # Phrases made only of very common words ("right", "left") match everywhere: drop them.
        phrases = [
            ph
            for ph in phrases
            if sum(math.log(1 + n / df[t]) for t in ph.tokens) >= self.min_phrase_weight
        ]
        codes: dict[tuple[str, str], int] = {}
        rows, cols, vals = [], [], []
        phrase_code = np.empty(len(phrases), dtype=np.int32)
        phrase_src = np.empty(len(phrases), dtype=np.int8)
        phrase_len = np.empty(len(phrases), dtype=np.int16)
        phrase_w = np.empty(len(phrases), dtype=np.float32)
        for i, ph in enumerate(phrases):
            idfs = [math.log(1 + n / df[t]) for t in ph.tokens]
            total = sum(idfs)
            for t, w in zip(ph.tokens, idfs, strict=True):
                j = vocab.setdefault(t, len(vocab))
                rows.append(i)
                cols.append(j)
                vals.append(w / total)
            phrase_code[i] = codes.setdefault((ph.system, ph.code), len(codes))
            phrase_src[i] = ph.source
            phrase_len[i] = len(ph.tokens)
            phrase_w[i] = total
        self.vocab_ = vocab
        self.contrasts_ = _contrast_index(vocab)
        self.fuzzy_ = _deletion_index(vocab, df)
        # Word families: a note word also counts for the phrase words of its family
        by_key: dict[str, list[int]] = {}
        for word, j in vocab.items():
            by_key.setdefault(derivational_key(word), []).append(j)
        self.family_keys_ = {k: tuple(v) for k, v in by_key.items() if k not in _NO_FAMILY}
        self.families_ = {
            j: tuple(x for x in ids if x != j)
            for ids in self.family_keys_.values()
            if len(ids) > 1
            for j in ids
        }
        self.codes_ = list(codes)
        self.phrase_tokens_T_ = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (cols, rows)), shape=(len(vocab), len(phrases))
        )
        self.phrase_rows_ = self.phrase_tokens_T_.T.tocsr()
        self.phrase_code_ = phrase_code
        self.phrase_source_ = phrase_src
        self.phrase_len_ = phrase_len
        self.phrase_weight_ = phrase_w
        return self

    def match(
        self, tokens: Sequence[Token], sentence_bounds: Sequence[tuple[int, int]]
    ) -> dict[int, CodeMatch]:
        """Best match per code index. `sentence_bounds` are character ranges of sentences."""
        if not tokens or not sentence_bounds:
            return {}
        tokens = self.correct(tokens)
        # A plain word at the position of its own "~no" twin is a kept copy of a word in a
        # without/not scope (see `tokens.mark_polarity`).
        negated_at = {
            (t.start, t.norm[: -len(NEG_SUFFIX)]) for t in tokens if t.norm.endswith(NEG_SUFFIX)
        }
        # Assign each token to its sentence.
        starts = np.fromiter((s for s, _ in sentence_bounds), dtype=np.int64)
        tok_sent: list[int] = []
        tok_ids: list[tuple[int, ...]] = []
        rows, cols, copy = [], [], []
        for tok in tokens:
            ids = self._word_ids(tok.norm)
            s_idx = max(int(np.searchsorted(starts, tok.start, side="right")) - 1, 0)
            tok_sent.append(s_idx)
            tok_ids.append(ids)
            is_copy = (tok.start, tok.norm) in negated_at
            for j in ids:
                rows.append(s_idx)
                cols.append(j)
                copy.append(is_copy)
        if not rows:
            return {}
        n_sent = len(sentence_bounds)
        cov = self._coverage(np.array(rows), np.array(cols), np.array(copy, dtype=bool), n_sent)
        keep = cov.data >= self.min_coverage - 1e-6
        s_idx_arr, p_idx_arr, c_arr = cov.row[keep], cov.col[keep], cov.data[keep]
        if len(c_arr) == 0:
            return {}
        code_arr = self.phrase_code_[p_idx_arr]
        # Score per (code, sentence) = coverage, tie-broken toward longer phrases.
        score = c_arr + 0.001 * self.phrase_len_[p_idx_arr]
        order = np.lexsort((-score, code_arr))
        by_sentence: dict[int, list[tuple[int, Token]]] = {}
        for tok, s, ids in zip(tokens, tok_sent, tok_ids, strict=True):
            for j in ids:
                by_sentence.setdefault(s, []).append((j, tok))
        best: dict[int, CodeMatch] = {}
        n_strong: dict[int, set[int]] = {}
        support: dict[int, dict[int, float]] = {}
        for k in order:
            code = int(code_arr[k])
            sent = int(s_idx_arr[k])
            cov_k = float(c_arr[k])
            per_sent = support.setdefault(code, {})
            per_sent[sent] = max(per_sent.get(sent, 0.0), cov_k)
            if cov_k >= self.strong - 1e-6:
                n_strong.setdefault(code, set()).add(sent)
            if code in best:
                continue
            p = int(p_idx_arr[k])
            best[code] = self._mention(code, p, sent, cov_k, by_sentence.get(sent, []))
        out: dict[int, CodeMatch] = {}
        for code, m in best.items():
            out[code] = CodeMatch(
                code_index=m.code_index,
                coverage=m.coverage,
                weight=m.weight,
                n_tokens=m.n_tokens,
                source=m.source,
                sentence=m.sentence,
                start=m.start,
                end=m.end,
                n_sentences=len(n_strong.get(code, ())),
                support=float(sum(support[code].values())),
                compact=m.compact,
                contradicted=m.contradicted,
            )
        return out

    def _word_ids(self, norm: str) -> tuple[int, ...]:
        """Phrase-word ids a note word counts for: itself and its word family ("menopausal"
        also counts for "menopause"); an unknown word, its family's words (NEG_SUFFIX kept
        apart: a negated word only counts for negated phrase words)."""
        j = self.vocab_.get(norm)
        if j is not None:
            return (j, *self.families_.get(j, ()))
        if norm.endswith(NEG_SUFFIX):
            return ()
        return self.family_keys_.get(derivational_key(norm), ())

    def _coverage(
        self, rows: np.ndarray, cols: np.ndarray, copy: np.ndarray, n_sent: int
    ) -> sp.coo_matrix:
        """(sentences x phrases) coverage from token hits (`rows` sentence, `cols` vocabulary
        id; `copy` marks kept plain copies of negated words).

        A negated word counts toward a phrase only when the phrase has no plainly present word
        in that sentence: "without bleeding" leaves "esophagitis without bleeding" to K21.00 and
        no longer completes K21.01 "... with bleeding", and "not specified as recurrent" does not
        complete "recurrent"; a finding that is negated as a whole ("without fever") is still
        found, for the context analysis to judge.
        """
        shape = (n_sent, len(self.vocab_))

        def product(keep: np.ndarray) -> sp.csr_matrix:
            m = sp.csr_matrix(
                (np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])), shape=shape
            )
            m.data[:] = 1.0  # duplicates summed by the constructor; back to binary
            return (m @ self.phrase_tokens_T_).tocsr()

        every = product(np.ones(len(rows), dtype=bool))
        if not copy.any():
            return every.tocoo()
        plain = product(~copy)
        has_plain = plain.copy()
        has_plain.data[:] = 1.0
        return (plain + every - every.multiply(has_plain)).tocoo()

    def correct(self, tokens: Sequence[Token]) -> list[Token]:
        """`tokens` with misspelt words (see the module docstring) replaced by phrase words."""
        fuzzy: dict[str, str] | None = getattr(self, "fuzzy_", None)
        if not fuzzy:
            return list(tokens)
        out: list[Token] = []
        for tok in tokens:
            word = tok.norm
            if word in self.vocab_ or len(word) < MIN_FUZZY:
                out.append(tok)
                continue
            neg = NEG_SUFFIX if word.endswith(NEG_SUFFIX) else ""
            base = word[: len(word) - len(neg)]
            fixed = _closest(base, fuzzy, self.vocab_) if base.isalpha() else None
            out.append(tok if fixed is None else Token(fixed + neg, tok.start, tok.end))
        return out

    def _mention(
        self,
        code: int,
        phrase: int,
        sent: int,
        coverage: float,
        sentence_tokens: Sequence[tuple[int, Token]],
    ) -> CodeMatch:
        lo, hi = self.phrase_rows_.indptr[phrase], self.phrase_rows_.indptr[phrase + 1]
        weight_of = dict(
            zip(
                self.phrase_rows_.indices[lo:hi].tolist(),
                self.phrase_rows_.data[lo:hi].tolist(),
                strict=True,
            )
        )
        hits = [(j, t) for j, t in sentence_tokens if j in weight_of]
        # Keep the tightest cluster: drop hits far from the median hit.
        if len(hits) > 1:
            mid = hits[len(hits) // 2][1].start
            hits = [(j, t) for j, t in hits if abs(t.start - mid) <= 120] or hits
        start, end = _main_run(sorted((t for _, t in hits), key=lambda t: t.start))
        together = sum(weight_of[j] for j in {j for j, t in hits if start <= t.start < end})
        contradicted = False
        if coverage < 0.99:
            rivals_of: dict[int, tuple[int, ...]] = getattr(self, "contrasts_", {})
            missing = set(weight_of) - {j for j, _ in hits}
            rivals = {r for j in missing for r in rivals_of.get(j, ()) if r not in weight_of}
            contradicted = any(j in rivals and start <= t.start < end for j, t in sentence_tokens)
        return CodeMatch(
            code_index=code,
            coverage=coverage,
            weight=float(self.phrase_weight_[phrase] * coverage),
            n_tokens=int(self.phrase_len_[phrase]),
            source=int(self.phrase_source_[phrase]),
            sentence=sent,
            start=start,
            end=end,
            n_sentences=0,
            support=0.0,
            compact=min(1.0, together / coverage) if coverage > 0 else 1.0,
            contradicted=contradicted,
        )


#: Hits of one phrase further apart than this (characters) are separate runs.
RUN_GAP = 40


def _main_run(hits: Sequence[Token]) -> tuple[int, int]:
    """The span of the run holding most of a phrase's hits (the later one on a tie).

    The coverage counts every hit in the sentence, but the mention is where the words stand
    together: in "Viral serology was negative for ... hepatitis B and C viruses" the mention of
    "viral hepatitis C" is "hepatitis B and C", after the negation, not a span that opens with
    "Viral" and swallows the cue."""
    runs: list[list[Token]] = [[hits[0]]]
    for t in hits[1:]:
        if t.start - runs[-1][-1].end > RUN_GAP:
            runs.append([t])
        else:
            runs[-1].append(t)
    best = max(enumerate(runs), key=lambda ir: (len({t.start for t in ir[1]}), ir[0]))[1]
    return min(t.start for t in best), max(t.end for t in best)


def _contrast_index(vocab: dict[str, int]) -> dict[int, tuple[int, ...]]:
    """Phrase-word id -> the ids of its rivals (`data/contrasts.json`) in `vocab`."""
    raw = json.loads(resources.files("model.v1").joinpath("data/contrasts.json").read_text("utf-8"))
    out: dict[int, tuple[int, ...]] = {}
    for group in raw["groups"]:
        ids = []
        for word in group:
            toks = tokenize(str(word), expand=False, keep_stopwords=True)
            if len(toks) != 1:
                raise ValueError(f"contrasts.json: {word!r} is not one word")
            if toks[0].norm in vocab:
                ids.append(vocab[toks[0].norm])
        for j in ids:
            out[j] = tuple(x for x in ids if x != j)
    return out


def _deletion_index(vocab: dict[str, int], df: dict[str, int]) -> dict[str, str]:
    """Single-deletion variant -> the phrase word it comes from (the most used on a tie), for
    alphabetic words of at least `MIN_FUZZY` letters."""
    out: dict[str, str] = {}
    for word in sorted(vocab, key=lambda w: (-df.get(w, 0), w)):
        if len(word) < MIN_FUZZY or not word.isalpha():
            continue
        for i in range(len(word)):
            out.setdefault(word[:i] + word[i + 1 :], word)
    return out


def _closest(word: str, fuzzy: dict[str, str], vocab: dict[str, int]) -> str | None:
    """The phrase word one edit from `word`: a letter left out, one too many, or one wrong."""
    hit = fuzzy.get(word)  # word = a phrase word minus one letter
    if hit is not None:
        return hit
    deletions = [word[:i] + word[i + 1 :] for i in range(len(word))]
    for d in deletions:  # one letter too many
        if len(d) >= MIN_FUZZY and d in vocab:
            return d
    for d in deletions:  # one letter wrong, or two neighbours swapped
        hit = fuzzy.get(d)
        if hit is not None and len(hit) == len(word) and _substitution_or_swap(word, hit):
            return hit
    return None


def _substitution_or_swap(a: str, b: str) -> bool:
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    i, j = diff if len(diff) == 2 else (0, 0)
    return j == i + 1 and a[i] == b[j] and a[j] == b[i]
