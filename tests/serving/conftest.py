"""Fixtures for the serving tests: a real database (SQLite always, PostgreSQL when reachable),
the real app with the real small model (`trained_model_dir`, root conftest), and API keys.

- `db_url`: a fresh, empty database per test module (SQLite file; PostgreSQL schema, dropped
  afterwards).
- `client` / `keys`: a real app (real model) on the module's fresh `db_url`, and API keys for it.
- `api` / `api_keys`: ONE app per backend for the whole session (startup = migrations + model
  load is the slow part), on its own database. Tests using it never assume an empty database and
  never switch its model; the serving engineer's API tests use it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from serving.app import create_app
from serving.db import session_scope
from serving.services.users import create_user
from serving.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "CHARTCODER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Small on purpose, so the oversized-note cases stay cheap.
TEST_MAX_NOTE_CHARS = 20_000

_pg_state: dict[str, str | None] = {}


def pg_unreachable_reason() -> str | None:
    """None if the test PostgreSQL answers, else why not (cached)."""
    if "reason" not in _pg_state:
        try:
            engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means no server here
            _pg_state["reason"] = (
                f"PostgreSQL half skipped: {PG_ADMIN_URL} is not reachable ({type(exc).__name__})"
            )
    return _pg_state["reason"]


def _pg_schema_url() -> Iterator[str]:
    reason = pg_unreachable_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_serving_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database for this module."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'chartcoder.sqlite'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture(scope="session", params=BACKENDS)
def app_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The database behind the shared `client` (one per backend per session)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('appdb') / 'chartcoder.sqlite'}"
    else:
        yield from _pg_schema_url()


@pytest.fixture(scope="session")
def serving_settings(
    app_db_url: str, tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path
) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=app_db_url,
        model_dir=trained_model_dir,
        train_default_model=False,
        max_note_chars=TEST_MAX_NOTE_CHARS,
    )


@pytest.fixture(scope="session")
def api(serving_settings: Settings) -> Iterator[TestClient]:
    """The shared real app (migrated database, real model) behind a TestClient."""
    app = create_app(serving_settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def client(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, trained_model_dir: Path
) -> Iterator[TestClient]:
    """A real app (migrated database, real model) on this module's fresh, empty database."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=db_url,
        model_dir=trained_model_dir,
        train_default_model=False,
        max_note_chars=TEST_MAX_NOTE_CHARS,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class Keys:
    """API keys of real users, created on first use: `keys.headers("coder")`."""

    client: TestClient
    _made: dict[str, tuple[str, str]] = field(default_factory=dict)

    def new(self, role: str) -> tuple[str, dict[str, str]]:
        """A brand-new user of `role`: `(name, headers)`."""
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        with session_scope(self.client.app.state.session_factory) as session:  # type: ignore[attr-defined]
            user = create_user(session, name=name, role=role, created_by="test")
        return name, {"Authorization": f"Bearer {user.key}"}

    def headers(self, role: str) -> dict[str, str]:
        if role not in self._made:
            name, headers = self.new(role)
            self._made[role] = (name, headers["Authorization"])
        return {"Authorization": self._made[role][1]}

    def name(self, role: str) -> str:
        self.headers(role)
        return self._made[role][0]


@pytest.fixture(scope="module")
def keys(client: TestClient) -> Keys:
    return Keys(client)


@pytest.fixture(scope="session")
def api_keys(api: TestClient) -> Keys:
    return Keys(api)


NOTE = (
    "Chief complaint: follow-up of diabetes and blood pressure.\n"
    "History: 58 year old woman with type 2 diabetes mellitus without complications on "
    "metformin, and essential hypertension on lisinopril. She denies chest pain. "
    "Office visit for an established patient.\n"
    "Assessment: Type 2 diabetes mellitus without complications. Essential (primary) "
    "hypertension. Hyperlipidemia noted on labs.\n"
    "Plan: continue metformin and lisinopril; recheck HbA1c in 3 months.\n"
)


@pytest.fixture(scope="session")
def note_text() -> str:
    return NOTE
