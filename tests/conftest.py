"""Session fixtures shared by every test folder: a small synthetic corpus and a real model
trained on it (small, so the whole suite stays fast; nothing is mocked)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def codiesp_root() -> Path | None:
    """CodiEsp location: $CHARTCODER_CODIESP, else ../shared/data/codiesp beside the checkout."""
    env = os.environ.get("CHARTCODER_CODIESP")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data" / "codiesp")
    for path in candidates:
        if (path / "train").is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def synthetic_corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from data.synthetic import generate_corpus

    out = tmp_path_factory.mktemp("synthetic")
    generate_corpus(500, 11, out)
    return out


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_corpus_dir: Path) -> Path:
    """A real v1 model trained on ~300 synthetic notes (about a minute on 2 cores)."""
    from evaluation.datasets import load_synthetic
    from training.train import train_model

    train = load_synthetic(synthetic_corpus_dir, split="train")[:300]
    dev = load_synthetic(synthetic_corpus_dir, split="dev")[:40]
    out = tmp_path_factory.mktemp("models") / "test-model"
    return train_model(
        train,
        out,
        seed=1,
        config={"ranker_iter": 80, "max_eval_notes": 40},
        eval_notes=dev,
        progress=False,
    )
