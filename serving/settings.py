"""Service settings, read from `CHARTCODER_*` environment variables.

Built by the `get_settings` dependency (or passed to `create_app`), never at import time, so that
importing `serving` needs no environment, no database and no model.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.text.note import MAX_NOTE_CHARS

#: Secret values that must never reach production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "change-me", "changeme", "secret", "dev", "development", "placeholder", "insecure-dev-key"}
)
DEV_SECRET = "insecure-dev-key"


class SettingsError(ValueError):
    """An unsafe or inconsistent setting; `field` names it."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="CHARTCODER_", extra="ignore")

    data_dir: Path = Field(
        default=Path("chartcoder-data"),
        description="Folder for the embedded SQLite database and the default model.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/chartcoder.sqlite. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    model_dir: Path | None = Field(
        default=None,
        description="Model artifact folder; default <data_dir>/models/default (trained on first "
        "start from the synthetic corpus if absent).",
    )
    environment: Literal["development", "production"] = "development"
    secret_key: str = Field(default=DEV_SECRET, description="Server secret (key hashing pepper).")
    max_note_chars: int = Field(default=MAX_NOTE_CHARS, gt=0, le=MAX_NOTE_CHARS)
    log_note_text: bool = Field(
        default=False, description="Debug only: allowed in development, refused elsewhere."
    )
    cds_clients: Path | None = Field(
        default=None, description="JSON file of CDS Hooks clients (issuer, JWKS URL, tenant)."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL this service is reached at."
    )
    train_default_model: bool = Field(
        default=True,
        description="Train the default model on first start when model_dir does not exist.",
    )

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment != "development":
            if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
                raise SettingsError(
                    "CHARTCODER_SECRET_KEY is a placeholder or shorter than 16 characters; "
                    "set a real secret outside development",
                    field="secret_key",
                )
            if self.log_note_text:
                raise SettingsError(
                    "CHARTCODER_LOG_NOTE_TEXT must be false outside development "
                    "(note text is protected health information)",
                    field="log_note_text",
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chartcoder.sqlite').resolve()}"

    @property
    def resolved_model_dir(self) -> Path:
        if self.model_dir is not None:
            return self.model_dir
        return self.data_dir / "models" / "default"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment (cached). Apps built with explicit settings bypass this."""
    return Settings()
