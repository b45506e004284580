"""Fixtures for the text-analysis tests: shared analysers, sample notes, the real CodiEsp path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from model.text.context import ContextAnalyzer

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def analyzer() -> ContextAnalyzer:
    return ContextAnalyzer()


def real_codiesp_root() -> Path | None:
    """The real CodiEsp corpus: $CHARTCODER_CODIESP, else ../shared/data/codiesp from the repo."""
    env = os.environ.get("CHARTCODER_CODIESP")
    candidate = Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "codiesp"
    return candidate if (candidate / "train" / "text_files_en").is_dir() else None


@pytest.fixture(scope="session")
def codiesp_texts() -> list[str]:
    """Up to 100 English CodiEsp train texts (skips when the corpus is not available)."""
    root = real_codiesp_root()
    if root is None:
        pytest.skip("real CodiEsp corpus not found (set CHARTCODER_CODIESP)")
    files = sorted((root / "train" / "text_files_en").glob("*.txt"))[:100]
    return [f.read_text("utf-8") for f in files]
