"""Database unavailable: 503 with Retry-After, and nothing partially written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.exc import OperationalError

from serving.db import make_engine, make_session_factory
from serving.db.models import CorrectionEventRow, NoteRow, ReviewRow, SuggestionSetRow
from serving.deps import get_session_factory
from tests.serving.conftest import Keys


def _count(api: TestClient, table: Any) -> int:
    with api.app.state.session_factory() as s:  # type: ignore[attr-defined]
        return s.scalar(select(func.count()).select_from(table)) or 0


@pytest.fixture
def unreachable_db(api: TestClient, tmp_path: Path) -> Iterator[None]:
    """Point the app's sessions at a database server that is not there."""
    if api.app.state.engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        # create_engine, not make_engine: nothing may create the missing folder
        dead = create_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'chartcoder.sqlite'}")
    else:
        dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")
    factory = make_session_factory(dead)
    app = api.app
    app.dependency_overrides[get_session_factory] = lambda: factory  # type: ignore[attr-defined]
    try:
        yield
    finally:
        app.dependency_overrides.pop(get_session_factory)  # type: ignore[attr-defined]
        dead.dispose()


def test_unreachable_database_is_503_with_retry_after(
    api: TestClient, api_keys: Keys, note_text: str, unreachable_db: None
) -> None:
    h = api_keys.headers("coder")
    for method, url, body in (
        ("POST", "/v1/suggestions", {"text": note_text}),
        ("GET", "/v1/suggestions/00000000-0000-0000-0000-000000000000", None),
        ("GET", "/v1/codes/ICD-10-CM/E11.9", None),
    ):
        r = api.request(method, url, json=body, headers=h)
        assert r.status_code == 503, (url, r.text)
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["error"]["code"] == "db_unavailable"
    ready = api.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"]["ok"] is False


def _fail_on(api: TestClient, table: str) -> Any:
    """Make the database drop dead when `table` is written (after earlier writes succeeded)."""
    engine = api.app.state.engine  # type: ignore[attr-defined]

    def boom(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            raise OperationalError(statement, None, ConnectionError("server closed the connection"))

    event.listen(engine, "before_cursor_execute", boom)
    return lambda: event.remove(engine, "before_cursor_execute", boom)


def test_a_failure_mid_suggestion_writes_no_note(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    h = api_keys.headers("coder")
    notes, sets = _count(api, NoteRow), _count(api, SuggestionSetRow)
    undo = _fail_on(api, "suggestion_sets")
    try:
        r = api.post("/v1/suggestions", json={"text": note_text}, headers=h)
    finally:
        undo()
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert (_count(api, NoteRow), _count(api, SuggestionSetRow)) == (notes, sets)
    assert api.post("/v1/suggestions", json={"text": note_text}, headers=h).status_code == 201


def test_a_failure_mid_review_writes_no_revision(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    h = api_keys.headers("coder")
    ss = api.post("/v1/suggestions", json={"text": note_text}, headers=h).json()
    c = ss["codes"][0]
    body = {"decisions": [{"system": c["system"], "code": c["code"], "action": "accept"}]}
    reviews, events = _count(api, ReviewRow), _count(api, CorrectionEventRow)
    undo = _fail_on(api, "correction_events")
    try:
        r = api.post(f"/v1/suggestions/{ss['id']}/review", json=body, headers=h)
    finally:
        undo()
    assert r.status_code == 503
    assert (_count(api, ReviewRow), _count(api, CorrectionEventRow)) == (reviews, events)
    ok = api.post(f"/v1/suggestions/{ss['id']}/review", json=body, headers=h)
    assert ok.status_code == 201
    assert ok.json()["revision"] == 1


def test_a_failure_at_commit_is_503_and_leaves_nothing(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    h = api_keys.headers("coder")
    engine = api.app.state.engine  # type: ignore[attr-defined]
    notes, sets = _count(api, NoteRow), _count(api, SuggestionSetRow)

    def boom(conn: Any) -> None:
        raise OperationalError("COMMIT", None, ConnectionError("connection lost at commit"))

    event.listen(engine, "commit", boom)
    try:
        r = api.post("/v1/suggestions", json={"text": note_text}, headers=h)
    finally:
        event.remove(engine, "commit", boom)
    assert r.status_code == 503
    assert r.headers["Retry-After"]
    assert (_count(api, NoteRow), _count(api, SuggestionSetRow)) == (notes, sets)
