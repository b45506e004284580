"""Storage: packaged migrations match the ORM, run twice safely, and the engine's guarantees
(SQLite WAL + foreign keys, unique review revisions) hold on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from serving.db import Base, make_engine, make_session_factory, migrate, normalise_url
from serving.db.models import NoteRow, ReviewRow, SuggestionSetRow

TABLES = {
    "users",
    "notes",
    "suggestion_sets",
    "reviews",
    "correction_events",
    "audit_cases",
    "audit_verdicts",
    "claims",
    "model_versions",
    "model_activations",
    "cds_jti",
    "alembic_version",
}


@pytest.fixture(scope="module")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)  # second run: nothing to do, no error
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_orm_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session, pytest.raises(IntegrityError):
        session.add(
            SuggestionSetRow(
                note_id="no-such-note",
                model_version="v",
                systems_json=["ICD-10-CM"],
                top_k=1,
                codes_json=[],
                latency_ms=1.0,
                created_by="test",
            )
        )
        session.flush()


def test_review_revisions_are_unique_per_suggestion_set(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        note = NoteRow(text="n", text_sha256="0" * 64, meta_json={}, created_by="t")
        session.add(note)
        session.flush()
        ss = SuggestionSetRow(
            note_id=note.id,
            model_version="v",
            systems_json=[],
            top_k=1,
            codes_json=[],
            latency_ms=1.0,
            created_by="t",
        )
        session.add(ss)
        session.flush()
        session.add(
            ReviewRow(suggestion_set_id=ss.id, revision=1, final_codes_json=[], created_by="t")
        )
        session.flush()
        session.add(
            ReviewRow(suggestion_set_id=ss.id, revision=1, final_codes_json=[], created_by="t")
        )
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas only")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_plain_postgresql_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://u@h:5432/db").startswith("postgresql+psycopg://")
    assert normalise_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
