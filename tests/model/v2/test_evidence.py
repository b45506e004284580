"""Attribution weights become at most three word-aligned spans, each inside one sentence."""

from __future__ import annotations

import numpy as np
import pytest

from model.text.sentences import split_sentences
from model.v2.evidence import attribution_spans

TEXT = "Patient has essential hypertension. Denies chest pain.\nType 2 diabetes, on metformin."


def _tokens(text: str) -> np.ndarray:
    """Word-piece-like offsets: words split in pieces of at most 5 characters."""
    import re

    out = []
    for m in re.finditer(r"\w+|[^\w\s]", text):
        for s in range(m.start(), m.end(), 5):
            out.append((s, min(s + 5, m.end())))
    return np.array(out, dtype=np.int64)


def test_evidence_spans_are_exact_whole_words_inside_one_sentence() -> None:
    offsets = _tokens(TEXT)
    words = [TEXT[s:e] for s, e in offsets]
    weights = np.zeros(len(offsets), dtype=np.float32)
    weights[words.index("hyper")] = 1.0  # a piece in the middle of a word
    weights[words.index("Type")] = 0.8
    weights[words.index("diabe")] = 0.9
    weights[words.index("pain")] = -5.0  # negative evidence is ignored
    spans = attribution_spans(TEXT, offsets, weights, split_sentences(TEXT))
    texts = [s.text for s in spans]
    assert texts == ["Type 2 diabetes", "hypertension"]
    sentences = split_sentences(TEXT)
    for s in spans:
        assert TEXT[s.start : s.end] == s.text
        assert any(x.start <= s.start and s.end <= x.end for x in sentences)


def test_evidence_never_crosses_a_sentence_boundary() -> None:
    offsets = _tokens(TEXT)
    words = [TEXT[s:e] for s, e in offsets]
    weights = np.zeros(len(offsets), dtype=np.float32)
    weights[words.index("pain")] = 1.0
    weights[words.index("Type")] = 1.0  # adjacent tokens, different sentences
    spans = attribution_spans(TEXT, offsets, weights, split_sentences(TEXT))
    assert sorted(s.text for s in spans) == ["Type", "pain"]


def test_evidence_at_most_three_spans() -> None:
    offsets = _tokens(TEXT)
    weights = np.ones(len(offsets), dtype=np.float32)
    weights[::4] = 2.0
    spans = attribution_spans(TEXT, offsets, weights, split_sentences(TEXT), max_gap=0)
    assert 1 <= len(spans) <= 3
    assert all(TEXT[s.start : s.end] == s.text for s in spans)


@pytest.mark.parametrize("weights", [np.zeros(3), -np.ones(3), np.array([np.nan] * 3)])
def test_evidence_without_positive_attribution_is_empty(weights: np.ndarray) -> None:
    offsets = np.array([[0, 7], [8, 11], [12, 22]], dtype=np.int64)
    assert attribution_spans(TEXT, offsets, weights.astype(np.float32), []) == ()


def test_evidence_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="offsets"):
        attribution_spans(TEXT, np.zeros((2, 2), dtype=np.int64), np.ones(3, np.float32), [])
