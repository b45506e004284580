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
    cal, raw = ranker.predict_with_raw(Xt)
    assert np.array_equal(cal, p) and np.allclose(ranker.iso_.predict(raw), cal)
    # the calibrated scores are a step function of the raw ones: ties the raw scores break
    assert len(np.unique(cal)) < len(np.unique(raw))


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


Rows = tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]


def _band_rows(n_notes: int, pair_both_gold: bool) -> Rows:
    """Per note: 40 ICD-10-CM codes of distinct categories that both models score high and that
    are right, two codes of one category (E11) scored just as high, of which only one is right
    (or both, with `pair_both_gold`), and 10 low-scored wrong CPT codes."""
    rows, labels, notes, codes = [], [], [], []
    prefixes = [f"{a}{d}" for a in "ABCDFGHJKLMN" for d in range(10)][:40]
    for note in range(n_notes):
        high = [(f"{p}0.0", 1) for p in prefixes]
        high += [("E11.9", int(pair_both_gold or note % 2 == 0)),
                 ("E11.65", int(pair_both_gold or note % 2 == 1))]  # fmt: skip
        for code, gold in high:
            x = np.zeros(len(STACK_FEATURES))
            x[[0, 1, 2, 3, 5, 6, 7, 8, 9]] = (0, 0.9, np.log1p(1), 1.0, 3.0, np.log1p(1), 0.0,
                                              1.0, 2.0)  # fmt: skip
            rows.append(x), labels.append(gold), notes.append(note), codes.append(code)
        for k in range(10):
            x = np.zeros(len(STACK_FEATURES))
            x[[0, 1, 2, 3, 5, 6, 7, 8, 9]] = (1, 0.05, np.log1p(20), 1.0, -3.0, np.log1p(20),
                                              -6.0, 1.0, 2.0)  # fmt: skip
            rows.append(x), labels.append(0), notes.append(note), codes.append(f"9921{k}")
    return np.array(rows), np.array(labels, dtype=np.int8), np.array(notes), codes


def test_stacker_fits_the_contested_level_where_same_category_pairs_are_unreliable() -> None:
    """Like v1: ICD-10-CM codes of the accepted band whose category holds another high-scoring
    code are withheld from `accepted` when such codes are less precise than the target."""
    from model.selection import accepted_codes

    X, y, notes, codes = _band_rows(60, pair_both_gold=False)
    ranker = StackedRanker(max_iter=20, random_state=0).fit(X, y, notes, codes)
    band = ranker.accept_thresholds_["ICD-10-CM"]
    assert band <= 1.0, ranker.validation_["ICD-10-CM"]
    assert ranker.contested_ == 0.1
    assert ranker.contested_near_ == 1.01  # no code had a rival of a neighbouring category
    summary = ranker.contested_validation_["category"]
    assert summary["pairs_at_0.1"] == 120 and summary["precision_at_0.1"] == pytest.approx(0.5)
    score = float(ranker.predict(X[:1])[0])
    chosen = [(("ICD-10-CM", c), score) for c in ("A00.0", "E11.9", "E11.65")]
    accepted = accepted_codes(
        chosen, ranker.accept_thresholds_, contested=ranker.contested_,
        contested_near=ranker.contested_near_,
    )  # fmt: skip
    assert accepted == {("ICD-10-CM", "A00.0")}


def test_stacker_keeps_same_category_pairs_accepted_where_they_are_right() -> None:
    X, y, notes, codes = _band_rows(60, pair_both_gold=True)
    ranker = StackedRanker(max_iter=20, random_state=0).fit(X, y, notes, codes)
    assert ranker.accept_thresholds_["ICD-10-CM"] <= 1.0
    assert ranker.contested_ == 1.01 and ranker.contested_near_ == 1.01
    assert ranker.contested_validation_["category"]["precision_at_0.1"] == 1.0


def test_stacker_without_codes_withholds_nothing_and_checks_their_count() -> None:
    X, y, notes, codes = _band_rows(10, pair_both_gold=False)
    ranker = StackedRanker(max_iter=10, random_state=0).fit(X, y, notes)
    assert ranker.contested_ == 1.01 and ranker.contested_near_ == 1.01
    with pytest.raises(ValueError, match="codes for"):
        StackedRanker(max_iter=10).fit(X, y, notes, codes[:-1])


def test_stacker_certifies_its_band_on_each_source() -> None:
    # Per note, six codes both models score high and six they score low (all wrong). In the 100
    # "synthetic" notes the six are right; in the 20 "codiesp" notes one in six is wrong. Pooled,
    # the high band is 97% right (700 of 720) and certified; on CodiEsp's pairs (0.83) it is not.
    rng = np.random.default_rng(5)
    rows, labels, notes, sources = [], [], [], []
    for note in range(120):
        source = "synthetic" if note < 100 else "codiesp"
        for k in range(12):
            high = k < 6
            x = np.zeros(len(STACK_FEATURES))
            v1 = rng.normal(0.9 if high else 0.1, 0.03)
            v2 = rng.normal(3.0 if high else -3.0, 0.3)
            x[[1, 2, 3, 5, 6, 8, 9]] = (v1, np.log1p(3), 1.0, v2, 1.0, 1.0, 2.0)
            rows.append(x)
            labels.append(int(high and not (source == "codiesp" and k == 0)))
            notes.append(note)
            sources.append(source)
    X, y, ids = np.array(rows), np.array(labels, dtype=np.int8), np.array(notes)
    pooled = StackedRanker(max_iter=30, random_state=0).fit(X, y, ids)
    split = StackedRanker(max_iter=30, random_state=0).fit(X, y, ids, sources=sources)
    assert pooled.accept_thresholds_["ICD-10-CM"] < 1.0
    icd = split.validation_["ICD-10-CM"]
    assert set(icd["sources"]) == {"synthetic", "codiesp"}
    assert icd["sources"]["codiesp"]["accept_threshold"] == 1.01
    assert icd["sources"]["synthetic"]["accept_threshold"] < 1.0
    assert split.accept_thresholds_["ICD-10-CM"] == 1.01
    with pytest.raises(ValueError, match="sources"):
        StackedRanker(max_iter=5).fit(X, y, ids, sources=sources[:-1])
