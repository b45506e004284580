"""GET /v1/codes/search and /v1/codes/{system}/{code}: the catalog over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.serving.conftest import Keys


def test_search_ranks_matching_codes(api: TestClient, api_keys: Keys) -> None:
    r = api.get(
        "/v1/codes/search",
        params={"q": "type 2 diabetes mellitus without complications", "system": "ICD-10-CM"},
        headers=api_keys.headers("coder"),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["system"] == "ICD-10-CM"
    assert "E11.9" in [h["code"] for h in out["results"][:5]]
    assert all(h["system"] == "ICD-10-CM" for h in out["results"])


def test_search_by_code_returns_it_first_and_respects_limit(
    api: TestClient, api_keys: Keys
) -> None:
    r = api.get(
        "/v1/codes/search", params={"q": "99213", "limit": 2}, headers=api_keys.headers("auditor")
    )
    out = r.json()["results"]
    assert len(out) <= 2
    assert (out[0]["system"], out[0]["code"], out[0]["official"]) == ("CPT", "99213", False)


@pytest.mark.parametrize("code", ["E11.9", "e119", "E119"])
def test_lookup_accepts_any_case_and_dots(api: TestClient, api_keys: Keys, code: str) -> None:
    r = api.get(f"/v1/codes/ICD-10-CM/{code}", headers=api_keys.headers("ehr"))
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "E11.9"
    assert body["billable"] is True
    assert body["official"] is True
    assert body["parent"] == "E11"


def test_a_header_lists_its_billable_children(api: TestClient, api_keys: Keys) -> None:
    body = api.get("/v1/codes/ICD-10-CM/E11", headers=api_keys.headers("coder")).json()
    assert body["billable"] is False
    assert "E11.9" in body["billable_children"]


@pytest.mark.parametrize(
    ("url", "params", "status", "field"),
    [
        ("/v1/codes/ICD-10-CM/Q99.999X", None, 404, "code"),
        ("/v1/codes/LOINC/1234-5", None, 422, "system"),
        ("/v1/codes/search", {"q": ""}, 422, "q"),
        ("/v1/codes/search", {}, 422, "q"),
        ("/v1/codes/search", {"q": "x", "system": "SNOMED"}, 422, "system"),
        ("/v1/codes/search", {"q": "x", "limit": 0}, 422, "limit"),
        ("/v1/codes/search", {"q": "x", "limit": "many"}, 422, "limit"),
    ],
)
def test_bad_code_requests_name_the_problem(
    api: TestClient,
    api_keys: Keys,
    url: str,
    params: dict[str, object] | None,
    status: int,
    field: str,
) -> None:
    r = api.get(url, params=params, headers=api_keys.headers("coder"))
    assert r.status_code == status, r.text
    assert r.json()["error"]["field"] == field
