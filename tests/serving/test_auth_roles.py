"""Every route checks its role: 401 (with WWW-Authenticate) without a valid key, 403 with the
wrong role; admin passes every check; api_keys are hashed at rest."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from serving.db import session_scope
from serving.db.models import User
from tests.serving.conftest import Keys

SET = "00000000-0000-0000-0000-000000000000"

# (method, url, json body, roles allowed besides admin)
ROUTES = [
    ("POST", "/v1/suggestions", {"text": "Type 2 diabetes."}, {"coder", "ehr"}),
    ("GET", f"/v1/suggestions/{SET}", None, {"coder", "auditor", "ehr"}),
    ("POST", f"/v1/suggestions/{SET}/review", {}, {"coder"}),
    ("GET", "/v1/corrections/export", None, set()),
    ("GET", "/v1/codes/search?q=diabetes", None, {"coder", "auditor", "ehr"}),
    ("GET", "/v1/codes/ICD-10-CM/E11.9", None, {"coder", "auditor", "ehr"}),
]
ROLES = ("coder", "auditor", "ehr", "admin")


def _call(api: TestClient, method: str, url: str, body: object, headers: dict[str, str]) -> int:
    return api.request(method, url, json=body, headers=headers).status_code


@pytest.mark.parametrize(("method", "url", "body", "allowed"), ROUTES, ids=[r[1] for r in ROUTES])
def test_role_matrix(
    api: TestClient, api_keys: Keys, method: str, url: str, body: object, allowed: set[str]
) -> None:
    for role in ROLES:
        status = _call(api, method, url, body, api_keys.headers(role))
        if role == "admin" or role in allowed:
            assert status not in (401, 403), (role, status)
        else:
            assert status == 403, (role, status)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer cc_00000000_not-a-real-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "cc_abc"},
    ],
    ids=["none", "empty", "unknown", "basic", "no-scheme"],
)
@pytest.mark.parametrize(("method", "url", "body", "allowed"), ROUTES, ids=[r[1] for r in ROUTES])
def test_missing_or_invalid_key_is_401_with_a_bearer_challenge(
    api: TestClient,
    method: str,
    url: str,
    body: object,
    allowed: set[str],
    headers: dict[str, str],
) -> None:
    r = api.request(method, url, json=body, headers=headers)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert r.json()["error"]["code"] == "unauthenticated"


def test_a_disabled_key_is_refused(api: TestClient, api_keys: Keys) -> None:
    name, headers = api_keys.new("coder")
    url = "/v1/codes/ICD-10-CM/E11.9"
    assert api.get(url, headers=headers).status_code == 200
    with session_scope(api.app.state.session_factory) as s:  # type: ignore[attr-defined]
        s.execute(update(User).where(User.name == name).values(disabled_at=dt.datetime.now(dt.UTC)))
    r = api.get(url, headers=headers)
    assert r.status_code == 401
    assert "disabled" in r.json()["error"]["message"]


def test_keys_are_stored_hashed(api: TestClient, api_keys: Keys) -> None:
    name, headers = api_keys.new("auditor")
    key = headers["Authorization"].removeprefix("Bearer ")
    with api.app.state.session_factory() as s:  # type: ignore[attr-defined]
        row = s.scalars(select(User).where(User.name == name)).one()
    assert key not in row.key_hash
    assert row.key_hash.startswith("sha256$")
    assert key.startswith(row.key_prefix)
    assert row.created_by == "test"


def test_operational_routes_need_no_key(api: TestClient) -> None:
    for url in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert api.get(url).status_code == 200, url
