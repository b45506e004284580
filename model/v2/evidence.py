"""Evidence spans from token attributions (attention x input-gradient, Edin et al. 2024).

The attribution of token t to code k is `a_kt * (dS_k/dh_t . h_t)`: the head's attention weight
times gradient-times-input at the head's input (the encoder's final token states). Tokens are
mapped to characters through the fast tokenizer's `offset_mapping`, widened to whole words, grouped
into runs inside one sentence, and the best three runs become the evidence spans. Offsets are
end-exclusive into the exact note text, so `text[start:end] == span.text` always holds.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from model.text.note import Span


def _widen(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """Grow `[start, end)` to whole words without leaving `[lo, hi)`."""
    while start > lo and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < hi and end > 0 and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def attribution_spans(
    text: str,
    offsets: npt.NDArray[np.int64],
    weights: npt.NDArray[np.float32],
    sentences: Sequence[Span],
    *,
    max_spans: int = 3,
    max_tokens: int = 12,
    relative_min: float = 0.25,
    max_gap: int = 3,
) -> tuple[Span, ...]:
    """At most `max_spans` evidence spans for one code.

    offsets:  [T, 2] character offsets of the note's tokens (end-exclusive)
    weights:  [T] attribution of each token to the code (negative values count as zero)
    Tokens whose weight reaches `relative_min` of the best one (at most `max_tokens`) are kept;
    kept tokens less than `max_gap` tokens apart in the same sentence form one span. Spans are
    ordered by their summed weight.
    """
    if offsets.shape[0] != weights.shape[0]:
        raise ValueError(f"{offsets.shape[0]} token offsets but {weights.shape[0]} weights")
    w = np.clip(np.nan_to_num(weights.astype(np.float64)), 0.0, None)
    if w.size == 0 or not text or w.max() <= 0.0:
        return ()
    order = np.argsort(-w, kind="stable")[:max_tokens]
    picked = sorted(int(t) for t in order if w[t] >= relative_min * w[order[0]])
    starts = [s.start for s in sentences]

    def sentence_of(t: int) -> int:
        return max(0, bisect.bisect_right(starts, int(offsets[t, 0])) - 1)

    groups: list[list[int]] = []
    for t in picked:
        if (
            groups
            and sentence_of(t) == sentence_of(groups[-1][-1])
            and t - groups[-1][-1] <= max_gap
        ):
            groups[-1].append(t)
        else:
            groups.append([t])
    scored: list[tuple[float, int, int]] = []
    for g in groups:
        if sentences:
            sent = sentences[sentence_of(g[0])]
            lo, hi = sent.start, sent.end
        else:
            lo, hi = 0, len(text)
        start = max(lo, int(offsets[g[0], 0]))
        end = min(hi, int(offsets[g[-1], 1]))
        if end <= start:
            continue
        start, end = _widen(text, start, end, lo, hi)
        scored.append((float(w[g].sum()), start, end))
    scored.sort(key=lambda x: -x[0])
    out: list[Span] = []
    for _, start, end in scored:
        if all(end <= s.start or s.end <= start for s in out):
            out.append(Span.of(text, start, end))
        if len(out) >= max_spans:
            break
    return tuple(out)
