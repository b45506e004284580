"""The whole-note sparse classifier: its split dense/sparse products equal the plain ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from model.v1 import classifier as classifier_mod
from model.v1.classifier import SparseCodeClassifier

TEXTS = [
    "type 2 diabetes mellitus without complications, on metformin",
    "essential hypertension, blood pressure controlled on lisinopril",
    "type 2 diabetes mellitus and essential hypertension, follow-up visit",
    "acute bronchitis with cough, no fever",
    "essential hypertension, new headache, blood pressure 160/95",
    "type 2 diabetes mellitus with hyperglycemia, insulin started",
    "cough and wheeze, acute bronchitis suspected",
    "annual visit, hypertension and diabetes reviewed",
]
KEYS = ["diabetes", "hypertension", "diabetes hypertension", "", "hypertension", "diabetes", "", ""]
LABELS = [
    {"ICD|E11.9"},
    {"ICD|I10"},
    {"ICD|E11.9", "ICD|I10"},
    {"ICD|J20.9"},
    {"ICD|I10"},
    {"ICD|E11.65"},
    {"ICD|J20.9"},
    {"ICD|E11.9", "ICD|I10"},
]


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Columns in a quarter of the rows count as common, in blocks of 3: the tiny corpus then
    # exercises several dense blocks and the sparse rest together.
    monkeypatch.setattr(classifier_mod, "DENSE_COLUMN_SHARE", 0.25)
    monkeypatch.setattr(classifier_mod, "DENSE_BLOCK", 3)


def _classifier() -> SparseCodeClassifier:
    return SparseCodeClassifier(min_examples=2, alpha=1.0, keep_features=5)


def test_training_matrix_equals_transform_and_an_empty_key_text_stays_empty() -> None:
    clf = _classifier()
    X = clf.fit_vectorizers(TEXTS, KEYS)
    assert abs(X - clf.transform(TEXTS, KEYS)).max() == 0
    key_block = X[:, X.shape[1] - len(clf.key_vec_.vocabulary_) :]
    assert [key_block[i].nnz for i in (3, 6, 7)] == [0, 0, 0]
    assert key_block[0].nnz > 0


def test_gram_splits_common_columns_and_equals_x_xt(small_blocks: None) -> None:
    X = _classifier().fit_vectorizers(TEXTS, KEYS)
    df = np.diff(X.tocsc().indptr)
    common = int((df >= 0.25 * X.shape[0]).sum())
    assert common > 3 and (df < 0.25 * X.shape[0]).any()  # several blocks and a sparse rest
    G = SparseCodeClassifier.gram(X)
    assert G.dtype == np.float32 and G.shape == (8, 8)
    np.testing.assert_allclose(G, (X @ X.T).toarray(), rtol=1e-6, atol=1e-6)


def test_fit_with_a_block_of_the_gram_equals_fit_without(small_blocks: None) -> None:
    clf = _classifier()
    X = clf.fit_vectorizers(TEXTS, KEYS)
    rows = np.array([0, 1, 2, 3, 5, 7])
    labels = [LABELS[i] for i in rows]
    plain = _classifier().fit_matrix(X[rows], labels)
    shared = _classifier().fit_matrix(
        X[rows], labels, gram=SparseCodeClassifier.gram(X)[np.ix_(rows, rows)]
    )
    assert plain.labels_ == shared.labels_ == ["ICD|E11.9", "ICD|I10"]
    np.testing.assert_allclose(plain.coef_T_.toarray(), shared.coef_T_.toarray(), atol=1e-6)
    # Each code keeps its 5 strongest features; the dense and sparse columns both count.
    assert (np.diff(plain.coef_.indptr) == 5).all()
    # The weights are ridge's: W = Xᵀ (X Xᵀ + αI)⁻¹ (Y - ȳ), before pruning.
    Xr = X[rows].toarray().astype(np.float64)
    Y = np.array([[c in s for c in plain.labels_] for s in labels], dtype=np.float64)
    W = Xr.T @ np.linalg.solve(Xr @ Xr.T + np.eye(len(rows)), Y - Y.mean(axis=0))
    for k in range(2):
        kept = plain.coef_T_[:, k].toarray().ravel()
        nz = np.nonzero(kept)[0]
        np.testing.assert_allclose(kept[nz], W[nz, k], rtol=1e-4, atol=1e-6)
        assert np.abs(W[nz, k]).min() >= np.sort(np.abs(W[:, k]))[-5] - 1e-6
    # A held-out hypertension note: I10 over E11.9.
    e11, i10 = shared.decision_matrix(X[[4]])[0]
    assert i10 > e11


def test_a_gram_of_the_wrong_shape_is_refused() -> None:
    clf = _classifier()
    X = clf.fit_vectorizers(TEXTS, KEYS)
    with pytest.raises(ValueError, match=r"gram is \(8, 8\), expected \(4, 4\)"):
        clf.fit_matrix(X[:4], LABELS[:4], gram=np.eye(8))
    assert sp.issparse(X)
