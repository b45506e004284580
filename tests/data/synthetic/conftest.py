"""Fixtures for the synthetic-corpus tests: one small sample of notes per session."""

from __future__ import annotations

from typing import Any

import pytest

from data.synthetic import generate_note


@pytest.fixture(scope="session")
def sample_notes() -> list[dict[str, Any]]:
    """400 notes of seed 11 (all note types, all splits)."""
    return [generate_note(i, 11) for i in range(400)]


@pytest.fixture(scope="session")
def notes_by_split() -> dict[str, list[dict[str, Any]]]:
    """100 notes forced into each split."""
    return {s: [generate_note(i, 3, split=s) for i in range(100)] for s in ("train", "dev", "test")}


@pytest.fixture(scope="session")
def catalog():  # noqa: ANN201
    from model.codesets import get_catalog

    return get_catalog()
