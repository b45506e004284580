"""The ensemble: gradient-boosted trees and a logistic regression over v1's calibrated output and
the v2 network's scores, fitted on notes neither the network nor the v1 model it stacks saw, their
probabilities averaged, then isotonic calibration, per-system F1 thresholds and the `accepted`
band (Wilson bounds of the band and of its lowest level, on each system's own levels, as in v1).

Why both: the stacking notes are few (124 on CodiEsp train), and on CodiEsp dev the linear model
ranked better than the trees alone (exact-code MAP 0.498 against 0.493, the average 0.499, same
stacking rows); the trees keep the interactions a linear model misses on larger corpora."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from model.selection import prefix_ids
from model.suggestion import SYSTEMS
from model.v1.ranker import fit_calibration, fit_contested_levels, make_gbm

#: Column order of the stacker's features (one row per (note, candidate code)).
STACK_FEATURES: tuple[str, ...] = (
    "system",  # index in model.suggestion.SYSTEMS
    "v1_score",  # v1's calibrated probability, 0 when v1 did not propose the code
    "v1_log_rank",  # log1p of v1's rank within the system (v1 list length + 1 when absent)
    "in_v1",  # v1 proposed the code
    "v1_accepted",  # v1 marked it accepted
    "v2_logit",  # the network's score
    "v2_log_rank",  # log1p of the network's rank among the note's candidates of that system
    "v2_gap",  # v2_logit minus the note's best v2 logit
    "trained",  # the code had training examples (it owns head residuals)
    "log_train_count",  # log1p of its training examples
)

Array = npt.NDArray[np.float64]


def _fold(note: int, seed: int) -> int:
    return hashlib.sha256(f"{seed}:{note}".encode()).digest()[0] % 2


def linear_features(X: Array) -> Array:
    """The logistic regression's columns, from `STACK_FEATURES` rows: v1's score as a logit
    (0 where v1 did not propose the code), the other columns as they are, the network's logit
    for trained codes and for v1's codes apart, and one indicator per code system."""
    f = {name: X[:, k] for k, name in enumerate(STACK_FEATURES)}
    p = np.clip(f["v1_score"], 1e-4, 1 - 1e-4)
    system = f["system"].astype(int)
    return np.column_stack(
        [
            np.log(p / (1 - p)) * f["in_v1"],
            *(f[name] for name in STACK_FEATURES[2:]),
            f["v2_logit"] * f["trained"],
            f["v2_logit"] * f["in_v1"],
            *((system == k).astype(np.float64) for k in range(3)),
        ]
    )


class StackedRanker:
    """Fitted state: `gbm_`, `linear_`, `iso_`, `thresholds_`, `accept_thresholds_`,
    `validation_`, and the contested-sibling levels `contested_` / `contested_near_` (with their
    `contested_validation_`) that `model.selection.accepted_codes` applies."""

    def __init__(
        self,
        *,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
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

    def _gbm(self) -> HistGradientBoostingClassifier:
        return make_gbm(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            random_state=self.random_state,
        )

    def _linear(self) -> Pipeline:
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))

    def _both(self, X: Array, y: npt.NDArray[np.int8]) -> tuple[Any, Pipeline]:
        return self._gbm().fit(X, y), self._linear().fit(linear_features(X), y)

    @staticmethod
    def _average(models: tuple[Any, Pipeline | None], X: Array) -> Array:
        gbm, linear = models
        trees = gbm.predict_proba(X)[:, 1]
        if linear is None:  # a model fitted before the linear half existed
            return np.asarray(trees, dtype=np.float64)
        return 0.5 * trees + 0.5 * linear.predict_proba(linear_features(X))[:, 1]

    def fit(
        self,
        X: Array,
        y: npt.NDArray[np.int8],
        notes: npt.NDArray[np.int64],
        codes: Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
    ) -> StackedRanker:
        """Cross-fit over two note folds for out-of-sample raw scores (calibration, thresholds,
        and, given each row's code, the contested-sibling levels as v1 fits them), then fit the
        served models on every pair. `sources`: each row's corpus; the accepted band must hold
        on each (`model.v1.ranker.fit_calibration`)."""
        if X.shape[1] != len(STACK_FEATURES):
            raise ValueError(f"expected {len(STACK_FEATURES)} stacker features, got {X.shape[1]}")
        if len(np.unique(y)) < 2:
            raise ValueError("the stacking notes hold no positive (or no negative) candidate")
        if sources is not None and len(sources) != len(y):
            raise ValueError(f"{len(sources)} sources for {len(y)} stacker rows")
        fold = np.array([_fold(int(n), self.random_state) for n in notes])
        raw = np.zeros(len(y), dtype=np.float64)
        with threadpool_limits(1, user_api="openmp"):
            for f in (0, 1):
                tr, te = fold != f, fold == f
                if len(np.unique(y[tr])) < 2 or not te.any():
                    raw[te] = float(y[tr].mean()) if tr.any() else 0.0
                    continue
                raw[te] = self._average(self._both(X[tr], y[tr]), X[te])
            self.gbm_, self.linear_ = self._both(X, y)
        systems = X[:, 0].astype(int)  # ids in model.suggestion.SYSTEMS order, as SYSTEM_IDS
        self.iso_, self.thresholds_, self.accept_thresholds_, self.validation_ = fit_calibration(
            raw, y, systems, self.accept_precision, self.min_accept_support,
            None if sources is None else np.asarray(sources),
        )  # fmt: skip
        self.contested_, self.contested_near_ = 1.01, 1.01
        self.contested_validation_: dict[str, dict[str, float]] = {}
        if codes is not None:
            if len(codes) != len(y):
                raise ValueError(f"{len(codes)} codes for {len(y)} stacker rows")
            self._fit_contested(raw, y, notes, list(codes), systems)
        return self

    def _fit_contested(
        self,
        raw: Array,
        y: npt.NDArray[np.int8],
        notes: npt.NDArray[np.int64],
        codes: list[str],
        systems: npt.NDArray[np.int64],
    ) -> None:
        """The levels from which an ICD-10-CM code in the accepted band is withheld because a
        code of its category (`contested_`) or of a neighbouring one (`contested_near_`) also
        scores high, fitted on the out-of-fold calibrated scores exactly as v1 fits its own
        (`model.v1.ranker.fit_contested_levels`): without them v2 accepted every code of a close
        pair v1 withholds (synthetic test ICD-10-CM accepted precision 0.940 against v1's
        0.970)."""
        cal = np.asarray(self.iso_.predict(raw), dtype=np.float64)
        is_icd = systems == SYSTEMS.index("ICD-10-CM")
        (self.contested_, same), (self.contested_near_, neighbour) = fit_contested_levels(
            cal, y, notes, prefix_ids(codes, 3), is_icd, prefix_ids(codes, 2),
            self.accept_thresholds_.get("ICD-10-CM", 1.01), self.accept_precision,
            self.min_accept_support,
        )  # fmt: skip
        self.contested_validation_ = {"category": same, "neighbourhood": neighbour}

    def predict(self, X: Array) -> Array:
        """Calibrated probabilities, one per row."""
        return self.predict_with_raw(X)[0]

    def predict_with_raw(self, X: Array) -> tuple[Array, Array]:
        """(calibrated, raw) probabilities, one per row: rank by both
        (`model.selection.score_order`)."""
        if len(X) == 0:
            return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.float64)
        with threadpool_limits(1, user_api="openmp"):
            raw = self._average((self.gbm_, getattr(self, "linear_", None)), X)
        return np.asarray(self.iso_.predict(raw), dtype=np.float64), raw
