"""Whole-note sparse classifier: TF-IDF word and character n-grams, section-aware, with one
linear model per code (one-vs-rest).

Each code's model is a ridge-regularised least-squares classifier, all fitted at once in closed
form through the dual (kernel) system `(X Xᵀ + λI) A = Y`, then `W = Xᵀ A`. That costs one n×n
solve instead of one iterative fit per code, which is what makes thousands of codes trainable
on two cores in seconds. Weights are pruned to the strongest features per code and kept as one
sparse matrix, so scoring a note is a single sparse product. No training note vectors are kept.

The products with X (`X Xᵀ`, `Xᵀ A`) split X's columns by document frequency: the columns most
notes share (character 4-grams of common words, frequent words) go through dense BLAS in blocks,
the rest through sparse products. A sparse `X Xᵀ` costs the sum of squared column counts, which
those few thousand common columns dominate: on 5,500 synthetic notes, 25 s sparse against 3 s
split. `gram` lets the caller compute `X Xᵀ` once for all notes and hand each fold its block.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

#: Columns in at least this share of the rows go through dense BLAS products.
DENSE_COLUMN_SHARE = 1 / 30
#: Dense columns per block (bounds the dense copy: rows x block x 4 bytes).
DENSE_BLOCK = 2048


class SparseCodeClassifier:
    """`labels_` is the fixed column order of `decision_matrix`."""

    def __init__(
        self,
        *,
        min_examples: int = 2,
        alpha: float = 1.0,
        keep_features: int = 2000,
        max_word_features: int = 60_000,
        max_char_features: int = 30_000,
        max_key_features: int = 20_000,
    ) -> None:
        self.min_examples = min_examples
        self.alpha = alpha
        self.keep_features = keep_features
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.max_key_features = max_key_features

    # -- features
    def fit_vectorizers(self, texts: Sequence[str], key_texts: Sequence[str]) -> sp.csr_matrix:
        """Fit the vocabularies (unsupervised) and return the training matrix."""
        self.word_vec_ = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            max_features=self.max_word_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.char_vec_ = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=(4, 4),
            min_df=3,
            max_features=self.max_char_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        self.key_vec_ = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            max_features=self.max_key_features,
            sublinear_tf=True,
            dtype=np.float32,
        )
        # fit_transform reads each text once (fit, then transform, would tokenise it twice).
        # The key vocabulary is fitted with "none" for an empty key text (so that it is never
        # empty), but an empty key text's row stays empty, as `transform` makes it.
        keys = self.key_vec_.fit_transform([k if k.strip() else "none" for k in key_texts])
        has_key = np.array([bool(k.strip()) for k in key_texts], dtype=np.float32)
        blocks = [
            self.word_vec_.fit_transform(texts),
            self.char_vec_.fit_transform(texts),
            sp.diags(has_key) @ keys,
        ]
        self.n_word_ = len(self.word_vec_.vocabulary_)
        self.word_names_ = {j: w for w, j in self.word_vec_.vocabulary_.items()}
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    def transform(self, texts: Sequence[str], key_texts: Sequence[str]) -> sp.csr_matrix:
        blocks = [
            self.word_vec_.transform(texts),
            self.char_vec_.transform(texts),
            self.key_vec_.transform(key_texts),
        ]
        return sp.hstack(blocks, format="csr", dtype=np.float32)

    @staticmethod
    def gram(X: sp.csr_matrix) -> np.ndarray:
        """`X Xᵀ` as a dense float32 array (rows × rows, X's precision); `fit_matrix` takes it,
        or a block of it for a subset of the rows, as `gram`, and solves in float64."""
        return _ColumnSplit(X).gram()

    # -- fitting
    def fit_matrix(
        self,
        X: sp.csr_matrix,
        label_sets: Sequence[set[str]],
        *,
        gram: np.ndarray | None = None,
    ) -> SparseCodeClassifier:
        """Fit every code's model on the rows of `X`. `gram`, when given, must be `X Xᵀ`
        (`SparseCodeClassifier.gram`)."""
        counts: dict[str, int] = {}
        for labels in label_sets:
            for code in labels:
                counts[code] = counts.get(code, 0) + 1
        self.labels_ = sorted(c for c, n in counts.items() if n >= self.min_examples)
        n, n_feat = X.shape
        col = {c: j for j, c in enumerate(self.labels_)}
        Y = np.zeros((n, len(self.labels_)), dtype=np.float64)
        for i, labels in enumerate(label_sets):
            for code in labels:
                j = col.get(code)
                if j is not None:
                    Y[i, j] = 1.0
        self.intercept_ = Y.mean(axis=0).astype(np.float32) if n else np.zeros(0, np.float32)
        if not self.labels_:
            self.coef_T_ = sp.csr_matrix((n_feat, 0), dtype=np.float32)
            self.coef_ = self.coef_T_.T.tocsr()
            return self
        if gram is not None and gram.shape != (n, n):
            raise ValueError(f"gram is {gram.shape}, expected ({n}, {n}) for X's rows")
        # One split of X's columns serves X Xᵀ (when not given) and Xᵀ A below.
        split = _ColumnSplit(X)
        dense = list(zip(split.block_columns(), split.dense_blocks(), strict=True))
        K = np.array(
            split.gram(block for _, block in dense) if gram is None else gram, dtype=np.float64
        )
        K[np.diag_indices_from(K)] += self.alpha
        # float32 like X: a float64 right-hand side would make scipy copy X to float64 for
        # every product below (half the time of this step)
        A = scipy.linalg.solve(K, Y - self.intercept_, assume_a="pos").astype(np.float32)
        sparse_T = split.sparse.T.tocsr()
        rows, cols, vals = [], [], []
        step = 256
        for lo in range(0, len(self.labels_), step):
            chunk = A[:, lo : lo + step]
            W = np.asarray(sparse_T @ chunk)  # features × chunk, float32 (common columns 0)
            for cols_idx, block in dense:
                W[cols_idx] = block.T @ chunk
            keep = min(self.keep_features, n_feat)
            for k in range(W.shape[1]):
                w = W[:, k]
                idx = (
                    np.argpartition(-np.abs(w), keep - 1)[:keep]
                    if keep < n_feat
                    else np.arange(n_feat)
                )
                idx = idx[w[idx] != 0]
                rows.append(idx.astype(np.int32))
                cols.append(np.full(idx.size, lo + k, dtype=np.int32))
                vals.append(w[idx])
        self.coef_T_ = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_feat, len(self.labels_)),
        )
        self.coef_ = self.coef_T_.T.tocsr()
        return self

    def average_of(
        self, folds: Sequence[tuple[list[Any], sp.csr_matrix, np.ndarray]]
    ) -> SparseCodeClassifier:
        """Replace the weights with the average of fold models (labels unioned; a label is
        averaged over the folds that had it). Scores are linear, so this equals averaging the
        fold models' scores."""
        union = sorted({c for labels, _, _ in folds for c in labels})
        col = {c: j for j, c in enumerate(union)}
        n_feat = folds[0][1].shape[0]
        total = sp.csr_matrix((n_feat, len(union)), dtype=np.float32)
        intercept = np.zeros(len(union), dtype=np.float64)
        seen = np.zeros(len(union), dtype=np.float64)
        for labels, coef_T, b in folds:
            idx = np.array([col[c] for c in labels], dtype=np.int64)
            if idx.size == 0:
                continue
            proj = sp.csr_matrix(
                (np.ones(idx.size, np.float32), (np.arange(idx.size), idx)),
                shape=(idx.size, len(union)),
            )
            total = total + coef_T @ proj
            intercept[idx] += b
            seen[idx] += 1
        scale = sp.diags((1.0 / np.maximum(seen, 1)).astype(np.float32))
        self.labels_ = union
        self.coef_T_ = (total @ scale).tocsr().astype(np.float32)
        self.coef_ = self.coef_T_.T.tocsr()
        self.intercept_ = (intercept / np.maximum(seen, 1)).astype(np.float32)
        return self

    def decision_matrix(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray((X @ self.coef_T_).todense(), dtype=np.float32) + self.intercept_

    def word_contributions(self, xw: sp.csr_matrix, label_index: int, top: int = 5) -> list[str]:
        """The word n-grams of a note (its word-block row `xw`) that push `label_index` up most."""
        lo, hi = self.coef_.indptr[label_index], self.coef_.indptr[label_index + 1]
        w_idx = self.coef_.indices[lo:hi]
        w_val = self.coef_.data[lo:hi]
        common, in_w, in_x = np.intersect1d(w_idx, xw.indices, return_indices=True)
        if common.size == 0:
            return []
        contrib_arr = w_val[in_w] * xw.data[in_x]
        order = np.argsort(-contrib_arr)
        contrib = [
            (float(contrib_arr[k]), int(common[k]))
            for k in order[: top * 2]
            if contrib_arr[k] > 0 and int(common[k]) < self.n_word_
        ]
        return [self.word_names_[j] for _, j in contrib[:top]]


class _ColumnSplit:
    """X's columns split by document frequency: `sparse` is X with its common columns zeroed
    (same shape), and `dense_blocks()` yields those columns as dense row × column blocks, in the
    order of `block_columns()`."""

    def __init__(self, X: sp.csr_matrix) -> None:
        csc = X.tocsc()
        df = np.diff(csc.indptr)
        common = df >= max(1.0, DENSE_COLUMN_SHARE * X.shape[0])
        self.common = np.nonzero(common)[0]
        self._csc = csc
        keep = sp.diags((~common).astype(np.float32))
        self.sparse = (csc @ keep).tocsr()
        self.sparse.eliminate_zeros()

    def block_columns(self) -> list[np.ndarray]:
        return [
            self.common[lo : lo + DENSE_BLOCK] for lo in range(0, self.common.size, DENSE_BLOCK)
        ]

    def dense_blocks(self) -> Iterator[np.ndarray]:
        for cols in self.block_columns():
            yield self._csc[:, cols].toarray()

    def gram(self, blocks: Iterable[np.ndarray] | None = None) -> np.ndarray:
        """`X Xᵀ` (float32): the sparse part's product plus each dense block's; `blocks`, when
        given, are `dense_blocks()` already made."""
        K = (self.sparse @ self.sparse.T).toarray()
        for block in self.dense_blocks() if blocks is None else blocks:
            K += block @ block.T
        return K
