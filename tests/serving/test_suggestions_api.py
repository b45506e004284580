"""POST/GET /v1/suggestions: stored sets with ranked codes and evidence; bad input is a 4xx
naming the problem, never a 500, and writes nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.db.models import NoteRow, SuggestionSetRow
from tests.serving.conftest import TEST_MAX_NOTE_CHARS, Keys


def _counts(api: TestClient) -> tuple[int, int]:
    with api.app.state.session_factory() as s:  # type: ignore[attr-defined]
        return (
            s.scalar(select(func.count()).select_from(NoteRow)) or 0,
            s.scalar(select(func.count()).select_from(SuggestionSetRow)) or 0,
        )


def test_suggest_stores_a_ranked_set_with_evidence_pointing_into_the_note(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    body = {"text": note_text, "meta": {"setting": "outpatient", "age": 58, "sex": "F"}, "top_k": 8}
    r = api.post("/v1/suggestions", json=body, headers=api_keys.headers("coder"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["model_version"] == api.app.state.registry.active_version  # type: ignore[attr-defined]
    assert out["systems"] == ["ICD-10-CM", "CPT", "HCPCS"]
    assert out["latency_ms"] >= 0
    codes = out["codes"]
    assert codes
    for system in {c["system"] for c in codes}:  # top_k is per code system
        assert sum(c["system"] == system for c in codes) <= 8
    assert [c["rank"] for c in codes] == list(range(1, len(codes) + 1))
    scores = [c["score"] for c in codes]
    assert scores == sorted(scores, reverse=True)
    for c in codes:
        assert set(c) == {"system", "code", "description", "score", "rank", "accepted", "evidence"}
        assert 0.0 <= c["score"] <= 1.0
        for ev in c["evidence"]:
            assert note_text[ev["start"] : ev["end"]] == ev["text"]

    got = api.get(f"/v1/suggestions/{out['id']}", headers=api_keys.headers("auditor"))
    assert got.status_code == 200
    assert got.json()["codes"] == codes
    assert got.json()["review"] is None
    assert got.json()["created_by"] == api_keys.name("coder")


def test_systems_and_top_k_restrict_the_result(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    body = {"text": note_text, "systems": ["ICD-10-CM", "ICD-10-CM"], "top_k": 3}
    r = api.post("/v1/suggestions", json=body, headers=api_keys.headers("ehr"))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["systems"] == ["ICD-10-CM"]
    assert 1 <= len(out["codes"]) <= 3
    assert {c["system"] for c in out["codes"]} == {"ICD-10-CM"}


BAD_BODIES: list[tuple[str, Any, int, str, str]] = [
    ("empty", {"text": ""}, 422, "empty_note", "text"),
    ("whitespace", {"text": "  \n\t "}, 422, "empty_note", "text"),
    ("oversized", {"text": "a" * (TEST_MAX_NOTE_CHARS + 1)}, 413, "note_too_long", "text"),
    ("text not a string", {"text": 42}, 422, "validation_error", "text"),
    ("NUL in text", {"text": "abc\x00def"}, 422, "invalid_characters", "text"),
    ("text missing", {"meta": {}}, 422, "validation_error", "text"),
    ("top_k a string", {"text": "x y", "top_k": "5"}, 422, "validation_error", "top_k"),
    ("top_k zero", {"text": "x y", "top_k": 0}, 422, "validation_error", "top_k"),
    ("top_k a bool", {"text": "x y", "top_k": True}, 422, "validation_error", "top_k"),
    (
        "unknown system",
        {"text": "x y", "systems": ["LOINC"]},
        422,
        "validation_error",
        "systems[0]",
    ),
    ("systems not a list", {"text": "x y", "systems": "CPT"}, 422, "validation_error", "systems"),
    ("no systems", {"text": "x y", "systems": []}, 422, "validation_error", "systems"),
    ("meta not an object", {"text": "x y", "meta": "ED"}, 422, "validation_error", "meta"),
    (
        "bad setting",
        {"text": "x", "meta": {"setting": "home"}},
        422,
        "validation_error",
        "meta.setting",
    ),
    ("bad age", {"text": "x", "meta": {"age": -3}}, 422, "validation_error", "meta.age"),
    (
        "bad date",
        {"text": "x", "meta": {"date_of_service": "May 5"}},
        422,
        "validation_error",
        "meta.date_of_service",
    ),
    ("unknown field", {"text": "x y", "colour": "red"}, 422, "validation_error", "colour"),
    ("body not an object", ["text"], 422, "validation_error", ""),
]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(
    api: TestClient, api_keys: Keys, body: Any, status: int, code: str, field: str
) -> None:
    before = _counts(api)
    r = api.post("/v1/suggestions", json=body, headers=api_keys.headers("coder"))
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    if field:
        assert err["field"] == field
        assert field in err["message"] or code != "validation_error"
    assert _counts(api) == before


def test_malformed_json_is_a_422(api: TestClient, api_keys: Keys) -> None:
    r = api.post(
        "/v1/suggestions",
        content=b'{"text": "unterminated',
        headers={**api_keys.headers("coder"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_a_body_far_over_the_limit_is_refused_before_parsing(
    api: TestClient, api_keys: Keys
) -> None:
    huge = b'{"text": "' + b"a" * (TEST_MAX_NOTE_CHARS * 6 + 300 * 1024) + b'"}'
    r = api.post(
        "/v1/suggestions",
        content=huge,
        headers={**api_keys.headers("coder"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize("set_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid"])
def test_unknown_id_is_a_404_naming_it(api: TestClient, api_keys: Keys, set_id: str) -> None:
    r = api.get(f"/v1/suggestions/{set_id}", headers=api_keys.headers("coder"))
    assert r.status_code == 404
    err = r.json()["error"]
    assert err["code"] == "suggestion_set_not_found"
    assert set_id in err["message"]


def test_note_text_never_reaches_the_logs(
    api: TestClient, api_keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "Zanzibarian-canary-7731"
    text = f"Patient reports {marker}. Type 2 diabetes mellitus without complications."
    with caplog.at_level(logging.DEBUG):
        ok = api.post("/v1/suggestions", json={"text": text}, headers=api_keys.headers("coder"))
        bad = api.post(
            "/v1/suggestions", json={"text": text, "top_k": "x"}, headers=api_keys.headers("coder")
        )
    assert ok.status_code == 201
    assert bad.status_code == 422
    assert marker not in caplog.text
    assert marker not in bad.text  # validation errors do not echo the input


def test_openapi_documents_every_route_with_a_response_model_and_examples(
    api: TestClient,
) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/suggestions",
        "/v1/suggestions/{id}",
        "/v1/suggestions/{id}/review",
        "/v1/corrections/export",
        "/v1/codes/search",
        "/v1/codes/{system}/{code}",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
        for op in paths[path].values():
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            assert ok.get("content"), (path, "no documented success body")
    schemas = spec["components"]["schemas"]
    assert schemas["SuggestionCreate"]["examples"]
    assert schemas["ReviewCreate"]["examples"]
    assert "401" in paths["/v1/suggestions"]["post"]["responses"]
