"""Settings: defaults, environment, and refusal of unsafe values outside development."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from serving.settings import Settings


def test_defaults_derive_database_and_model_from_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'chartcoder.sqlite').resolve()}"
    assert s.resolved_model_dir == tmp_path / "models" / "default"
    assert s.environment == "development"
    assert s.log_note_text is False


def test_environment_variables_with_prefix_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CHARTCODER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CHARTCODER_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("CHARTCODER_MAX_NOTE_CHARS", "1234")
    s = Settings()
    assert s.data_dir == tmp_path
    assert s.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert s.max_note_chars == 1234


@pytest.mark.parametrize("secret", ["", "change-me", "insecure-dev-key", "short"])
def test_production_refuses_placeholder_or_short_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=secret)


def test_production_refuses_note_text_in_logs() -> None:
    with pytest.raises(ValidationError, match="LOG_NOTE_TEXT"):
        Settings(environment="production", secret_key="x" * 40, log_note_text=True)


def test_production_accepts_a_real_secret_and_development_allows_debug_logging() -> None:
    assert Settings(environment="production", secret_key="s3cr3t-" * 6).environment == "production"
    assert Settings(environment="development", log_note_text=True).log_note_text is True


@pytest.mark.parametrize(
    ("field", "value"),
    [("environment", "staging"), ("max_note_chars", 0), ("max_note_chars", 10**9)],
)
def test_bad_values_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**{field: value})
