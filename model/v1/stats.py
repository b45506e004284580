"""Per-code statistics of the training notes that the ranker reads as features.

How often each code (and its category) is assigned, how often without a textual mention, how
often the classifier is right when it ranks the code near the top, and which codes come together.

Training features are computed **out of fold**: a note's statistics come only from the notes of
the other folds, so a note's own label never shapes its own features. (Leave-one-out counts
would: a positive pair would read `count - 1` and a negative pair `count` for the same code, and
gradient-boosted trees learn that difference instead of coding.) Counts are rescaled to the size
of the whole training set, so out-of-fold and served statistics mean the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from model.v1.cooccurrence import CoOccurrence

#: Classifier ranks (0-based) counted as "near the top" for the per-code reliability feature.
TOP_RANK = 3


@dataclass
class CodeStats:
    """Arrays indexed like the model's code space (category prior: by category id)."""

    prior: np.ndarray
    category_prior: np.ndarray
    unmatched: np.ndarray
    top_precision: np.ndarray
    match_precision: np.ndarray
    flagged_precision: np.ndarray
    cooccurrence: CoOccurrence


def code_stats(
    notes: Sequence[int],
    gold: Sequence[set[int]],
    matched: Sequence[set[int]],
    lr_top: Sequence[set[int]],
    unknown: Sequence[set[int]],
    full: Sequence[set[int]],
    flagged: Sequence[set[int]],
    category: np.ndarray,
    *,
    n_codes: int,
    scale: float = 1.0,
) -> CodeStats:
    """Statistics over the notes `notes` (indices into the per-note sequences).

    `matched[i]`: codes with a phrase match in note i; `lr_top[i]`: codes the classifier ranked
    in its top `TOP_RANK` for note i (out of fold); `unknown[i]`: codes note i says nothing
    about; `full[i]`: codes whose phrase note i matches in full; `flagged[i]`: those of them
    whose mention carries a context flag (negated, historical, family, hypothetical, ...).

    Precisions are smoothed, `(hits + 1) / (n + 2)`: how often coders assign a code when the
    classifier ranks it near the top, when the note names it, and when the note names it in a
    flagged context (a chronic condition in the past history is still coded; a resolved
    pneumonia is not). `scale` multiplies the counts (n_all / n_used for out-of-fold statistics).
    """
    prior = np.zeros(n_codes, dtype=np.float32)
    unmatched = np.zeros(n_codes, dtype=np.float32)
    hits = np.zeros(n_codes, dtype=np.float32)
    pos = np.zeros(n_codes, dtype=np.float32)
    m_n = np.zeros(n_codes, dtype=np.float32)
    m_pos = np.zeros(n_codes, dtype=np.float32)
    f_n = np.zeros(n_codes, dtype=np.float32)
    f_pos = np.zeros(n_codes, dtype=np.float32)
    for i in notes:
        for c in full[i]:
            if c in unknown[i]:
                continue
            is_pos = c in gold[i]
            m_n[c] += 1
            m_pos[c] += is_pos
            if c in flagged[i]:
                f_n[c] += 1
                f_pos[c] += is_pos
        for c in gold[i]:
            prior[c] += 1
            if c not in matched[i]:
                unmatched[c] += 1
        for c in lr_top[i]:
            if c in unknown[i]:
                continue
            hits[c] += 1
            pos[c] += c in gold[i]
    prior *= scale
    unmatched *= scale
    category_prior = np.bincount(category, weights=prior, minlength=int(category.max()) + 1).astype(
        np.float32
    )
    cooc = CoOccurrence().fit([gold[i] for i in notes], n_codes, [unknown[i] for i in notes])
    return CodeStats(
        prior=prior,
        category_prior=category_prior,
        unmatched=unmatched,
        top_precision=_smoothed(pos, hits),
        match_precision=_smoothed(m_pos, m_n),
        flagged_precision=_smoothed(f_pos, f_n),
        cooccurrence=cooc,
    )


def _smoothed(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    return ((hits + 1.0) / (n + 2.0)).astype(np.float32)
