"""The calibrated ranker: gradient-boosted trees over candidate features, isotonic calibration,
per-system thresholds and the confidence from which a code is marked `accepted`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from threadpoolctl import threadpool_limits

from model.selection import best_sibling_scores
from model.v1.features import FEATURE_NAMES, SYSTEM_IDS


class CalibratedRanker:
    def __init__(
        self,
        *,
        max_iter: int = 200,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        accept_precision: float = 0.95,
        min_accept_support: int = 20,
        random_state: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.accept_precision = accept_precision
        self.min_accept_support = min_accept_support
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> CalibratedRanker:
        self.gbm_ = make_gbm(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.random_state,
        )
        # One OpenMP thread: on a shared 2-core machine libgomp's spinning threads made fitting
        # 5x slower than a single thread (measured: 133 s vs 24 s for 40k pairs).
        with threadpool_limits(1, user_api="openmp"):
            self.gbm_.fit(X, y)
        return self

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64)
        with threadpool_limits(1, user_api="openmp"):
            return np.asarray(self.gbm_.predict_proba(X)[:, 1])

    def calibrate_scores(
        self, raw: np.ndarray, y: np.ndarray, X: np.ndarray, sources: np.ndarray | None = None
    ) -> CalibratedRanker:
        """Fit isotonic calibration and thresholds from raw scores produced out of sample
        (cross-fitted, or a held-out or validation split's); `sources`: each pair's corpus (see
        `fit_calibration`)."""
        systems = X[:, FEATURE_NAMES.index("system")].astype(int)
        self.iso_, self.thresholds_, self.accept_thresholds_, self.validation_ = fit_calibration(
            raw, y, systems, self.accept_precision, self.min_accept_support, sources
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_with_raw(X)[0]

    def predict_with_raw(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated, raw) scores, one per row: rank by both (`model.selection.score_order`)."""
        raw = self.raw_scores(X)
        return (np.asarray(self.iso_.predict(raw)) if len(X) else np.zeros(0)), raw

    def fit_contested(
        self,
        raw: np.ndarray,
        y: np.ndarray,
        notes: np.ndarray,
        categories: np.ndarray,
        is_icd: np.ndarray,
        neighbourhoods: np.ndarray | None = None,
    ) -> CalibratedRanker:
        """Fit `contested_` and `contested_near_` (see `fit_contested`) on the calibration
        pairs: out-of-sample raw scores, labels, each pair's note, ICD-10-CM category id and
        neighbourhood id (the code's first two characters: E10/E11, F32/F33, I48/I49), and
        which pairs are ICD-10-CM."""
        cal = self.iso_.predict(raw) if len(raw) else np.zeros(0)
        (
            (self.contested_, self.contested_validation_),
            (self.contested_near_, self.contested_near_validation_),
        ) = fit_contested_levels(
            cal, y, notes, categories, is_icd, neighbourhoods,
            self.accept_thresholds_.get("ICD-10-CM", 1.01), self.accept_precision,
            self.min_accept_support,
        )  # fmt: skip
        return self


def make_gbm(
    *, max_iter: int, learning_rate: float, max_leaf_nodes: int, random_state: int
) -> HistGradientBoostingClassifier:
    """The gradient-boosted trees every ranker here uses (L2 1.0, no early stopping)."""
    return HistGradientBoostingClassifier(
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
        l2_regularization=1.0,
        categorical_features=None,
        early_stopping=False,
        random_state=random_state,
    )


def fit_calibration(
    raw: np.ndarray,
    y: np.ndarray,
    systems: np.ndarray,
    accept_precision: float,
    min_support: int,
    sources: np.ndarray | None = None,
) -> tuple[IsotonicRegression, dict[str, float], dict[str, float], dict[str, dict[str, Any]]]:
    """Isotonic calibration of out-of-sample raw scores, then per system (`systems`: ids as in
    `SYSTEM_IDS`) the F1 threshold, the accept threshold and a validation summary.

    One calibration serves every system, so its levels are cut where the largest system's
    precision changes; each system's band and levels are found on an isotonic fit to its own
    pairs (`_own_accept_threshold`) and mapped onto the served scale.

    `sources` (each pair's corpus): where the pairs come from more than one, the band must be
    certified on each source's pairs as well as on all of them, and the strictest threshold
    wins. A band certified on pooled pairs is certified for the corpus that dominates them:
    trained on CodiEsp train and the larger synthetic corpus, v1's pooled band was 0.778
    precise on CodiEsp dev. Each source's band and levels are found on its own calibration
    (isotonic on its pairs alone): the pooled levels are the dominant corpus's precision (a
    level calibrated 0.989 held CodiEsp pairs 0.952 right out of fold and 0.848 right on dev).
    A source counts for a system where it holds at least `min_support` positives of it
    (CodiEsp has no CPT codes; a handful of site notes can neither certify nor refute a band);
    one that counts but certifies no band leaves the system with none."""
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    cal = iso.predict(raw)
    thresholds: dict[str, float] = {}
    accept_thresholds: dict[str, float] = {}
    validation: dict[str, dict[str, Any]] = {}
    names = np.unique(sources) if sources is not None else np.zeros(0)
    for name, sid in SYSTEM_IDS.items():
        mask = systems == sid
        t, f1 = _thresholds(cal[mask], y[mask], accept_precision, min_support)[:2]
        acc = _own_accept_threshold(raw[mask], y[mask], cal[mask], accept_precision, min_support)
        per_source: dict[str, dict[str, float]] = {}
        if len(names) > 1:
            assert sources is not None
            for src in names:
                m = mask & (sources == src)
                positives = int(y[m].sum())
                if positives < min_support:
                    continue
                acc_s = _own_accept_threshold(raw[m], y[m], cal[m], accept_precision, min_support)
                per_source[str(src)] = {"pairs": float(m.sum()), "positives": float(positives),
                                        "accept_threshold": acc_s}  # fmt: skip
                acc = max(acc, acc_s)
        band = mask & (cal >= acc)
        acc_n = int(band.sum())
        acc_prec = float(y[band].mean()) if acc_n else 0.0
        for src, row in per_source.items():
            in_band = band & (sources == src)
            row["accepted_pairs"] = float(in_band.sum())
            row["accept_precision"] = float(y[in_band].mean()) if in_band.any() else 0.0
        thresholds[name] = t
        accept_thresholds[name] = acc
        validation[name] = {
            "pairs": float(mask.sum()),
            "positives": float(y[mask].sum()),
            "best_f1": f1,
            "threshold": t,
            "accept_threshold": acc,
            "accept_precision": acc_prec,
            "accepted_pairs": float(acc_n),
        }
        if per_source:
            validation[name]["sources"] = per_source
    return iso, thresholds, accept_thresholds, validation


def _thresholds(
    scores: np.ndarray, y: np.ndarray, accept_precision: float, min_support: int
) -> tuple[float, float, float, float, int]:
    """F1-optimal threshold and the accept threshold: the lowest score t such that the band
    (score >= t) and the level at its bottom (the pairs scoring exactly t) are each shown, by
    the one-sided 95% Wilson lower bound of their precision, to be at least the target, with
    at least `min_support` pairs in the band.

    Returns (threshold, best_f1, accept_threshold, accept_precision_seen, accepted_count). With no
    qualifying band the accept threshold is 1.01 (nothing accepted).
    """
    if scores.size == 0 or y.sum() == 0:
        return 0.5, 0.0, 1.01, 0.0, 0
    order = np.argsort(-scores, kind="stable")
    s, yy = scores[order], y[order]
    tp = np.cumsum(yy)
    k = np.arange(1, len(s) + 1)
    precision = tp / k
    recall = tp / yy.sum()
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(denom), where=denom > 0)
    # Only cut between distinct scores.
    distinct = np.r_[s[1:] != s[:-1], True]
    best = int(np.argmax(np.where(distinct, f1, -1)))
    threshold = float(s[best])
    acc, acc_prec, acc_n = 1.01, 0.0, 0
    # Conservative: the band's Wilson bound must reach the target, so a small validation band
    # cannot earn `accepted` by luck.
    band_ok = wilson_lower(precision, k) >= accept_precision
    # And so must the bound of the code's own level: under isotonic calibration a score is the
    # validation precision of its level, and a band certified on average can end in a level
    # below the target (CodiEsp train's out-of-fold band: 0.973 above 0.938, whose level was 19
    # of 21 right on dev). A level's point estimate is optimistic where isotonic regression
    # chose its edges on the same pairs: CodiEsp's levels calibrated 0.959 and 0.982 were 0.931
    # and 0.967 precise on dev; their bounds were 0.937 and 0.955.
    ends = np.nonzero(distinct)[0]
    starts = np.r_[0, ends[:-1] + 1]
    level_n = ends - starts + 1
    level_tp = tp[ends] - np.r_[0, tp[ends[:-1]]]
    level_ok = np.zeros(len(s), dtype=bool)
    level_ok[ends] = wilson_lower(level_tp / level_n, level_n) >= accept_precision
    ok = distinct & band_ok & level_ok & (k >= min_support) & (s >= accept_precision)
    if ok.any():
        last = int(np.nonzero(ok)[0].max())
        acc, acc_prec, acc_n = float(s[last]), float(precision[last]), int(k[last])
    return threshold, float(f1[best]), acc, acc_prec, acc_n


def wilson_lower(precision: np.ndarray, n: np.ndarray, z: float = 1.645) -> np.ndarray:
    """One-sided Wilson score lower bound (95% for the default z) of proportions `precision`
    observed on `n` trials each."""
    centre = precision + z * z / (2 * n)
    margin = z * np.sqrt(precision * (1 - precision) / n + z * z / (4 * n * n))
    return (centre - margin) / (1 + z * z / n)


def _own_accept_threshold(
    raw: np.ndarray,
    y: np.ndarray,
    pooled: np.ndarray,
    accept_precision: float,
    min_support: int,
) -> float:
    """The accept threshold, on the served (pooled) calibrated scale, of one group of pairs (a
    system's, or a system's from one corpus): `raw`, `y` their raw scores and labels, `pooled`
    their served scores. The band and its levels are found on an isotonic calibration of the
    group's own pairs (`_thresholds`), which gives a raw-score floor; the threshold is the
    lowest served level, at least the target and from the one holding that floor up, whose
    band still has a Wilson bound at the target on the group's pairs (a served level can
    reach below the floor). 1.01 where the group certifies no band."""
    if not y.any():
        return 1.01
    own = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    cal = own.predict(raw)
    acc = _thresholds(cal, y, accept_precision, min_support)[2]
    if acc > 1.0:
        return 1.01
    floor = float(raw[cal >= acc].min())
    # An accepted code's score (its pooled level) reaches the target as well.
    start = max(float(pooled[raw >= floor].min()), accept_precision)
    for level in np.unique(pooled[pooled >= start]):
        band = pooled >= level
        n = int(band.sum())
        if n >= min_support and wilson_lower(y[band].mean(), n) >= accept_precision:
            return float(level)
    return 1.01


#: Sibling scores tried for the contested rule, lowest first.
CONTESTED_GRID = (0.1, 0.2, 0.3, 0.5)


def fit_contested_levels(
    cal: np.ndarray,
    y: np.ndarray,
    notes: np.ndarray,
    categories: np.ndarray,
    is_icd: np.ndarray,
    neighbourhoods: np.ndarray | None,
    accept_threshold: float,
    accept_precision: float,
    min_support: int,
) -> tuple[tuple[float, dict[str, float]], tuple[float, dict[str, float]]]:
    """Both contested rules' (level, summary) on calibration pairs (calibrated scores `cal`,
    labels, each pair's note, category id and neighbourhood id): rivals of the same category,
    then of a neighbouring one (never, `(1.01, {})`, without `neighbourhoods`). v1's ranker and
    v2's stacker fit theirs with it."""
    same = fit_contested(
        best_sibling_scores(cal, notes, categories, is_icd), cal, y, is_icd, accept_threshold,
        accept_precision, min_support,
    )  # fmt: skip
    if neighbourhoods is None:
        return same, (1.01, {})
    near = fit_contested(
        best_sibling_scores(cal, notes, neighbourhoods, is_icd, exclude=categories), cal, y,
        is_icd, accept_threshold, accept_precision, min_support,
    )  # fmt: skip
    return same, near


def fit_contested(
    sibling: np.ndarray,
    cal: np.ndarray,
    y: np.ndarray,
    is_icd: np.ndarray,
    accept_threshold: float,
    accept_precision: float,
    min_support: int,
) -> tuple[float, dict[str, float]]:
    """The rival score from which an ICD-10-CM code in the accepted band is contested, and is
    no longer `accepted`: the lowest `CONTESTED_GRID` level at which the band's codes with a
    rival (`sibling`: each pair's best rival score, from `best_sibling_scores`) scoring that
    much are, on the calibration pairs (calibrated scores `cal`, labels `y`), less precise than
    the band's target (with at least `min_support` such pairs). 1.01 (never) where no level
    qualifies.

    The band's precision is an average; codes whose category holds a close rival are the ones
    a coder would check, and on the synthetic dev split they were 117 of 155 right against
    0.98 for the rest. Corpora whose coders assign several codes of one category (CodiEsp
    often does) keep them accepted: the level is fitted per training corpus.
    """
    band = is_icd & (cal >= accept_threshold)
    summary: dict[str, float] = {"band_pairs": float(band.sum())}
    for level in CONTESTED_GRID:
        hit = band & (sibling >= level)
        k = int(hit.sum())
        precision = float(y[hit].mean()) if k else 1.0
        summary[f"precision_at_{level}"] = precision
        summary[f"pairs_at_{level}"] = float(k)
        if k >= min_support and precision < accept_precision:
            summary["contested"] = level
            return level, summary
    summary["contested"] = 1.01
    return 1.01, summary
