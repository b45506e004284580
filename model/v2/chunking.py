"""Long notes as fixed-size encoder chunks, and the token states rejoined into one note.

A note's word pieces (no special tokens) are cut into consecutive pieces of `chunk_size - 2`
tokens; each becomes `[CLS] piece [SEP] [PAD]...` of length `chunk_size`. After the encoder, the
content positions of every chunk (not `[CLS]`, `[SEP]` or padding) are concatenated back in order,
so the head attends over every token of the whole note exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

MIN_CHUNK = 8


@dataclass(frozen=True, slots=True)
class Chunks:
    """One note cut into encoder inputs.

    input_ids:      [C, L] long, L = chunk_size
    attention_mask: [C, L] long, 1 for [CLS], content and [SEP], 0 for padding
    content_mask:   [C, L] bool, True only for the note's own tokens
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    content_mask: torch.Tensor

    @property
    def n_tokens(self) -> int:
        return int(self.content_mask.sum())


def chunk_token_ids(
    ids: Sequence[int],
    *,
    chunk_size: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    max_chunks: int | None = None,
) -> Chunks:
    """Cut `ids` (T content tokens) into C = max(1, ceil(T / (chunk_size - 2))) chunks.

    An empty note gives one chunk holding only `[CLS] [SEP]` and no content. With `max_chunks`,
    tokens past `max_chunks * (chunk_size - 2)` are dropped (callers keep the offsets of the
    tokens they keep, so evidence stays exact).
    """
    if chunk_size < MIN_CHUNK:
        raise ValueError(f"chunk_size must be at least {MIN_CHUNK}, got {chunk_size}")
    if max_chunks is not None and max_chunks < 1:
        raise ValueError(f"max_chunks must be at least 1, got {max_chunks}")
    width = chunk_size - 2
    tokens = list(ids)
    if max_chunks is not None:
        tokens = tokens[: max_chunks * width]
    n_chunks = max(1, -(-len(tokens) // width))
    input_ids = torch.full((n_chunks, chunk_size), pad_id, dtype=torch.long)
    attention = torch.zeros((n_chunks, chunk_size), dtype=torch.long)
    content = torch.zeros((n_chunks, chunk_size), dtype=torch.bool)
    for c in range(n_chunks):
        piece = tokens[c * width : (c + 1) * width]
        n = len(piece)
        input_ids[c, 0] = cls_id
        if n:
            input_ids[c, 1 : n + 1] = torch.tensor(piece, dtype=torch.long)
        input_ids[c, n + 1] = sep_id
        attention[c, : n + 2] = 1
        content[c, 1 : n + 1] = True
    return Chunks(input_ids, attention, content)


def rejoin_chunks(hidden: torch.Tensor, content_mask: torch.Tensor) -> torch.Tensor:
    """Token states of the whole note, in order.

    hidden:       [C, L, H] encoder output of the chunks
    content_mask: [C, L] bool
    returns:      [T, H], T = content_mask.sum() (0 rows for an empty note)
    """
    if hidden.shape[:2] != content_mask.shape:
        raise ValueError(
            f"hidden {tuple(hidden.shape)} does not match content_mask {tuple(content_mask.shape)}"
        )
    return hidden[content_mask]


def pad_notes(notes: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack notes of different lengths for the head.

    notes:   B tensors [T_b, H]
    returns: states [B, T, H] (T = max(1, max T_b), zero padded) and mask [B, T] bool
    """
    if not notes:
        raise ValueError("pad_notes needs at least one note")
    width = max(1, max(int(n.shape[0]) for n in notes))
    dim = int(notes[0].shape[1])
    states = notes[0].new_zeros((len(notes), width, dim))
    mask = torch.zeros((len(notes), width), dtype=torch.bool)
    for b, n in enumerate(notes):
        t = int(n.shape[0])
        states[b, :t] = n
        mask[b, :t] = True
    return states, mask
