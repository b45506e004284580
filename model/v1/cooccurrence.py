"""Code co-occurrence: how often coders assign code c when the note documents code d.

Coding is full of such pairs: type 2 diabetes with long-term oral hypoglycaemics (Z79.84), CKD
stage with diabetic CKD, a site's own habits (always adding a drug-therapy status code to a
diabetes visit). The ranker gets, for each candidate c, the strongest `P(c | d)` over the codes d
that the note names affirmatively (full phrase matches without negation, family, hypothetical,
uncertain or ruled-out context), estimated from the training notes' gold codes.

Notes whose source never assigns some code (`unlabeled`) count neither for nor against it.
During training every note's own codes are left out of its estimate (leave-one-out), so the
feature means the same thing on training and new notes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from model.v1.analysis import CONTEXT_FLAGS, NoteAnalysis

#: Context flags that stop a mention from documenting its code.
_NOT_AFFIRMED = tuple(
    CONTEXT_FLAGS.index(f) for f in ("negated", "family", "hypothetical", "uncertain", "ruled_out")
)
#: Pseudo-count in the denominator: a pair seen once is weak evidence, not certainty.
SMOOTHING = 2.0


def anchors(analysis: NoteAnalysis, limit: int = 60) -> list[int]:
    """Codes the note names affirmatively: full phrase matches without a blocking context."""
    out = []
    for c, m in analysis.matches.items():
        if m.coverage < 0.99:
            continue
        ctx = analysis.context.get(c)
        if ctx is not None and any(ctx[i] for i in _NOT_AFFIRMED):
            continue
        out.append((m.weight, c))
    out.sort(reverse=True)
    return [c for _, c in out[:limit]]


class CoOccurrence:
    """Fitted counts over a code space of `n_codes` indices."""

    def fit(
        self,
        gold: Sequence[set[int]],
        n_codes: int,
        unknown: Sequence[set[int]] | None = None,
    ) -> CoOccurrence:
        """`gold[i]`: note i's code indices; `unknown[i]`: codes note i says nothing about."""
        G = _binary(gold, n_codes)
        self.pairs_ = (G.T @ G).tocsr().astype(np.float32)  # [d, c]: notes with both
        self.count_ = np.asarray(G.sum(axis=0)).ravel().astype(np.float32)  # notes with d
        if unknown is not None and any(unknown):
            U = _binary(unknown, n_codes)
            self.blind_ = (G.T @ U).tocsr().astype(np.float32)  # [d, c]: d gold, c unknown
        else:
            self.blind_ = sp.csr_matrix((n_codes, n_codes), dtype=np.float32)
        return self

    def feature(
        self,
        note_anchors: Sequence[int],
        cands: Sequence[int],
        own_gold: set[int] | None = None,
        own_unknown: set[int] | None = None,
    ) -> np.ndarray:
        """max over anchors d != c of P(c | d), one value per candidate (0 without anchors).

        With `own_gold` (training), the note's own contribution is removed first.
        """
        if not note_anchors or not cands:
            return np.zeros(len(cands), dtype=np.float32)
        a = np.asarray(note_anchors)
        c = np.asarray(cands)
        num = self.pairs_[a][:, c].toarray()
        den = self.count_[a][:, None] - self.blind_[a][:, c].toarray()
        if own_gold is not None:
            a_gold = np.array([x in own_gold for x in note_anchors])
            c_gold = np.array([x in own_gold for x in cands])
            c_known = np.array([x not in (own_unknown or ()) for x in cands])
            num = num - np.outer(a_gold, c_gold)
            den = den - np.outer(a_gold, c_known)
        p = np.maximum(num, 0.0) / (np.maximum(den, 0.0) + SMOOTHING)
        p[a[:, None] == c[None, :]] = 0.0
        best: np.ndarray = p.max(axis=0).astype(np.float32)
        return best


def _binary(sets: Sequence[set[int]], n_codes: int) -> sp.csr_matrix:
    rows = [i for i, s in enumerate(sets) for _ in s]
    cols = [c for s in sets for c in s]
    data = np.ones(len(rows), dtype=np.float32)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(sets), n_codes))
