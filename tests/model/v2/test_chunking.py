"""The chunk helper: empty note, one token, exact multiples, truncation, rejoining in order."""

from __future__ import annotations

import pytest
import torch

from model.v2.chunking import chunk_token_ids, pad_notes, rejoin_chunks

CLS, SEP, PAD = 101, 102, 0


def _chunks(ids: list[int], size: int = 10, max_chunks: int | None = None):  # type: ignore[no-untyped-def]
    return chunk_token_ids(
        ids, chunk_size=size, cls_id=CLS, sep_id=SEP, pad_id=PAD, max_chunks=max_chunks
    )


def test_chunking_empty_note_gives_one_chunk_without_content() -> None:
    ch = _chunks([])
    assert ch.input_ids.shape == (1, 10)
    assert ch.input_ids[0, :2].tolist() == [CLS, SEP]
    assert ch.input_ids[0, 2:].eq(PAD).all()
    assert ch.attention_mask[0].tolist() == [1, 1] + [0] * 8
    assert ch.n_tokens == 0
    hidden = torch.randn(1, 10, 4)
    assert rejoin_chunks(hidden, ch.content_mask).shape == (0, 4)


def test_chunking_one_token() -> None:
    ch = _chunks([7])
    assert ch.input_ids.shape == (1, 10)
    assert ch.input_ids[0, :3].tolist() == [CLS, 7, SEP]
    assert ch.content_mask[0].tolist() == [False, True] + [False] * 8
    assert ch.attention_mask.sum() == 3


@pytest.mark.parametrize("k", [1, 2, 3])
def test_chunking_exact_multiple_of_chunk_size_has_no_empty_chunk(k: int) -> None:
    ids = list(range(1000, 1000 + 8 * k))  # 8 content tokens per chunk of 10
    ch = _chunks(ids)
    assert ch.input_ids.shape == (k, 10)
    assert ch.attention_mask.eq(1).all()  # every chunk is full: [CLS] + 8 + [SEP]
    assert ch.input_ids[:, 0].eq(CLS).all() and ch.input_ids[:, -1].eq(SEP).all()
    assert ch.input_ids[ch.content_mask].tolist() == ids


def test_chunking_partial_last_chunk_is_padded_and_rejoins_in_order() -> None:
    ids = list(range(2000, 2019))  # 19 = 8 + 8 + 3
    ch = _chunks(ids)
    assert ch.input_ids.shape == (3, 10)
    assert ch.attention_mask[2].tolist() == [1] * 5 + [0] * 5
    # A fake encoder that returns each token id as its state: rejoining restores the note.
    hidden = ch.input_ids.unsqueeze(-1).float()
    assert rejoin_chunks(hidden, ch.content_mask)[:, 0].long().tolist() == ids


def test_chunking_max_chunks_truncates() -> None:
    ch = _chunks(list(range(3000, 3030)), max_chunks=2)
    assert ch.input_ids.shape == (2, 10) and ch.n_tokens == 16


@pytest.mark.parametrize(("size", "max_chunks"), [(4, None), (10, 0)])
def test_chunking_rejects_bad_sizes(size: int, max_chunks: int | None) -> None:
    with pytest.raises(ValueError, match="chunk_size|max_chunks"):
        _chunks([1, 2, 3], size=size, max_chunks=max_chunks)


def test_rejoin_rejects_mismatched_shapes() -> None:
    ch = _chunks([1, 2])
    with pytest.raises(ValueError, match="does not match"):
        rejoin_chunks(torch.zeros(2, 10, 4), ch.content_mask)


def test_pad_notes_masks_padding() -> None:
    states, mask = pad_notes([torch.ones(3, 4), torch.ones(0, 4), torch.ones(5, 4)])
    assert states.shape == (3, 5, 4)
    assert mask.sum(1).tolist() == [3, 0, 5]
    assert states[~mask].eq(0).all()
