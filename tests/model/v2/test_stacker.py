"""The ensemble's stacker: trees and a logistic regression averaged, then calibrated."""

from __future__ import annotations

import numpy as np
import pytest

from model.v2.stacker import STACK_FEATURES, StackedRanker, linear_features


def _rows(n_notes: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate rows where the gold codes are the ones both models score high."""
    rng = np.random.default_rng(seed)
    rows, labels, notes = [], [], []
    for note in range(n_notes):
        for _ in range(12):
            gold = rng.random() < 0.25
            v1 = np.clip(rng.normal(0.7 if gold else 0.2, 0.2), 0.0, 1.0)
            v2 = rng.normal(1.5 if gold else -1.5, 1.0)
            x = np.zeros(len(STACK_FEATURES))
            x[[1, 2, 3, 5, 6, 7, 8, 9]] = (v1, np.log1p(rng.integers(1, 30)), 1.0, v2, 1.0,
                                           min(0.0, v2 - 2.0), 1.0, 2.0)  # fmt: skip
            rows.append(x)
            labels.append(int(gold))
            notes.append(note)
    return np.array(rows), np.array(labels, dtype=np.int8), np.array(notes)


def test_linear_features_read_v1_as_a_logit_and_systems_as_indicators() -> None:
    X = np.zeros((2, len(STACK_FEATURES)))
    X[0, [0, 1, 3]] = (1, 0.5, 1)  # CPT, v1 score 0.5, proposed by v1
    X[1, [0, 1, 3]] = (0, 0.0, 0)  # ICD-10-CM, not proposed by v1
    f = linear_features(X)
    assert f.shape == (2, 1 + len(STACK_FEATURES) - 2 + 2 + 3)
    assert f[0, 0] == pytest.approx(0.0) and f[1, 0] == pytest.approx(0.0)
    assert f[0, -3:].tolist() == [0.0, 1.0, 0.0] and f[1, -3:].tolist() == [1.0, 0.0, 0.0]


def test_stacker_ranks_gold_first_and_scores_are_probabilities() -> None:
    X, y, notes = _rows(60, 0)
    ranker = StackedRanker(max_iter=30, random_state=0).fit(X, y, notes)
    assert hasattr(ranker, "linear_")
    Xt, yt, _ = _rows(20, 1)
    p = ranker.predict(Xt)
    assert ((p >= 0) & (p <= 1)).all()
    assert p[yt == 1].mean() > p[yt == 0].mean() + 0.3


def test_stacker_fitted_before_the_linear_half_still_predicts() -> None:
    X, y, notes = _rows(40, 2)
    ranker = StackedRanker(max_iter=20, random_state=0).fit(X, y, notes)
    del ranker.linear_  # as unpickled from an artifact of an earlier chartcoder
    p = ranker.predict(X[:5])
    assert p.shape == (5,) and ((p >= 0) & (p <= 1)).all()


def test_stacker_refuses_rows_of_another_feature_set() -> None:
    X, y, notes = _rows(10, 3)
    with pytest.raises(ValueError, match="stacker features"):
        StackedRanker().fit(X[:, :-1], y, notes)
