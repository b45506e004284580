"""`/v1/models`: list, detail with report, activate, rollback, a broken artifact, roles, and no
failed `POST /v1/suggestions` while an admin switches models under concurrent load.

Uses the serving conftest's module app (`client`, real model, SQLite and PostgreSQL).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from serving.db import session_scope
from serving.services import models as service
from tests.serving.conftest import Keys
from tests.serving.registry_audit_fixtures import break_artifact, second_version


@pytest.fixture(scope="module")
def versions(
    client: TestClient, trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """A: the model the app started with; B: a copy under a new version; broken: a bad copy."""
    staging = tmp_path_factory.mktemp("incoming")
    b_dir, b = second_version(trained_model_dir, staging, "b")
    bad_dir, bad = second_version(trained_model_dir, staging, "broken")
    break_artifact(bad_dir)
    app = client.app
    models_dir = app.state.registry.models_dir  # type: ignore[attr-defined]
    with session_scope(app.state.session_factory) as session:  # type: ignore[attr-defined]
        for folder in (b_dir, bad_dir):
            service.register(session, folder, models_dir=models_dir, actor="test")
    return {"A": app.state.registry.active_version, "B": b, "broken": bad}  # type: ignore[attr-defined]


def _suggest(client: TestClient, keys: Keys, note_text: str) -> str:
    r = client.post(
        "/v1/suggestions", json={"text": note_text, "top_k": 5}, headers=keys.headers("coder")
    )
    assert r.status_code == 201, r.text
    version: str = r.json()["model_version"]
    return version


def _models(client: TestClient, keys: Keys) -> dict[str, Any]:
    r = client.get("/v1/models", headers=keys.headers("coder"))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_list_and_detail(client: TestClient, keys: Keys, versions: dict[str, str]) -> None:
    a = versions["A"]
    body = _models(client, keys)
    assert body["active_version"] == body["serving_version"] == a
    by_version = {m["version"]: m for m in body["models"]}
    assert set(by_version) == {a, versions["B"], versions["broken"]}
    assert by_version[a]["active"] and by_version[a]["loaded"]
    assert by_version[a]["activated_by"] == "system:startup"
    assert by_version[a]["metrics"]  # the artifact's evaluation.json
    assert set(by_version[a]["summary"]["ICD-10-CM"]) == {"map", "precision"}
    assert not by_version[versions["B"]]["active"]
    detail = client.get(f"/v1/models/{a}", headers=keys.headers("auditor"))
    assert detail.status_code == 200
    assert detail.json()["report_md"]  # the artifact's report.md
    missing = client.get("/v1/models/v-nope", headers=keys.headers("coder"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    assert client.get("/v1/models").status_code == 401


def test_activate_rollback_and_a_broken_artifact(
    client: TestClient, keys: Keys, versions: dict[str, str], note_text: str
) -> None:
    a, b, bad = versions["A"], versions["B"], versions["broken"]
    admin = keys.headers("admin")
    # Roles first: nothing changes.
    assert client.post(f"/v1/models/{b}/activate").status_code == 401
    for role in ("coder", "auditor", "ehr"):
        r = client.post(f"/v1/models/{b}/activate", headers=keys.headers(role))
        assert r.status_code == 403, role
        assert client.post("/v1/models/rollback", headers=keys.headers(role)).status_code == 403
    # A broken artifact: 422 with the reason, the old model keeps serving.
    r = client.post(f"/v1/models/{bad}/activate", headers=admin)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "model_load_failed"
    assert "could not be loaded" in r.json()["error"]["message"]
    assert _models(client, keys)["active_version"] == a
    assert _suggest(client, keys, note_text) == a
    failed = {m["version"]: m for m in _models(client, keys)["models"]}[bad]
    assert failed["load_error"] and not failed["active"]
    # Switch to B, then back.
    r = client.post(f"/v1/models/{b}/activate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["active"]["version"] == b
    assert r.json()["previous_version"] == a
    assert r.json()["active"]["activated_by"] == keys.name("admin")
    assert _suggest(client, keys, note_text) == b
    again = client.post(f"/v1/models/{b}/activate", headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "model_already_active"
    listed = {m["version"]: m for m in _models(client, keys)["models"]}
    assert listed[b]["active"] and listed[a]["previous"]
    r = client.post("/v1/models/rollback", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["active"]["version"], r.json()["previous_version"]) == (a, b)
    assert _suggest(client, keys, note_text) == a
    nothing = client.post("/v1/models/rollback", headers=admin)
    assert nothing.status_code == 409
    assert nothing.json()["error"]["code"] == "no_rollback"
    assert client.post("/v1/models/v-nope/activate", headers=admin).status_code == 404
    with session_scope(client.app.state.session_factory) as session:  # type: ignore[attr-defined]
        history = [(r.version, r.previous_version) for r in service.activations(session)]
    assert history == [(a, None), (b, a), (a, b)]


def test_no_failed_request_while_switching(
    client: TestClient, keys: Keys, versions: dict[str, str], note_text: str
) -> None:
    a, b = versions["A"], versions["B"]
    admin, coder = keys.headers("admin"), keys.headers("coder")
    stop = threading.Event()
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send() -> None:
        while not stop.is_set():
            r = client.post("/v1/suggestions", json={"text": note_text, "top_k": 5}, headers=coder)
            with lock:
                results.append((r.status_code, r.json().get("model_version", r.text)))

    def finished() -> int:
        with lock:
            return len(results)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            start = finished()
            if i % 2 == 0:
                r = client.post(f"/v1/models/{b}/activate", headers=admin)
            else:
                r = client.post("/v1/models/rollback", headers=admin)
            assert r.status_code == 200, r.text
            for _ in range(6000):  # let some requests finish on this model before the next
                if finished() >= start + 4:
                    break
                stop.wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(120)
    assert results
    assert [r for r in results if r[0] != 201] == []
    assert {v for _, v in results} <= {a, b}
    assert _models(client, keys)["active_version"] == a
