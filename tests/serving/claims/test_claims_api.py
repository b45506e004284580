"""`/v1/claims` through the real app and database: explicit codes, a reviewed suggestion set,
the stored claim and its downloads, roles, and every bad-input path."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.claim import Claim
from sqlalchemy import func, select

from serving.app import create_app
from serving.claims.x12check import pyx12_errors
from serving.db.models import ClaimRow, NoteRow, SuggestionSetRow
from serving.settings import Settings
from tests.serving.conftest import Keys

NOTE = (
    "Follow-up of type 2 diabetes mellitus without complications and essential hypertension. "
    "HbA1c drawn by venipuncture today."
)
#: What a model proposed for NOTE (the review below accepts, rejects and adds codes).
SUGGESTED = [
    ("ICD-10-CM", "E11.9", 0.91),
    ("ICD-10-CM", "I10", 0.88),
    ("ICD-10-CM", "R07.9", 0.21),
    ("CPT", "99214", 0.74),
    ("CPT", "83036", 0.66),
]


@pytest.fixture(scope="module")
def claims_client(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The real app on a fresh database; claims need no model, so none is loaded."""
    data = tmp_path_factory.mktemp("claims-data")
    settings = Settings(
        data_dir=data, database_url=db_url, model_dir=data / "no-model", train_default_model=False
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def claims_keys(claims_client: TestClient) -> Keys:
    return Keys(claims_client)


def _suggestion_set(client: TestClient) -> str:
    """Store a note and the codes a model suggested for it, as the suggestions service does."""
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        note = NoteRow(text=NOTE, text_sha256="0" * 64, meta_json={}, created_by="test")
        s.add(note)
        s.flush()
        row = SuggestionSetRow(
            note_id=note.id,
            model_version="fixture",
            systems_json=["ICD-10-CM", "CPT", "HCPCS"],
            top_k=10,
            codes_json=[
                {
                    "system": sys_,
                    "code": code,
                    "description": "",
                    "score": score,
                    "rank": i,
                    "accepted": score > 0.5,
                    "evidence": [],
                }
                for i, (sys_, code, score) in enumerate(SUGGESTED, start=1)
            ],
            latency_ms=1.0,
            created_by="test",
        )
        s.add(row)
        s.commit()
        return row.id


def _review(client: TestClient, keys: Keys, set_id: str) -> dict[str, Any]:
    body = {
        "decisions": [
            {"system": "ICD-10-CM", "code": "E11.9", "action": "accept"},
            {"system": "ICD-10-CM", "code": "I10", "action": "accept"},
            {"system": "ICD-10-CM", "code": "R07.9", "action": "reject", "reason": "negated"},
            {"system": "CPT", "code": "99214", "action": "accept"},
            {"system": "CPT", "code": "83036", "action": "accept"},
        ],
        "added": [{"system": "CPT", "code": "36415"}],
    }
    r = client.post(f"/v1/suggestions/{set_id}/review", json=body, headers=keys.headers("coder"))
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _parties(example: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "patient",
        "subscriber",
        "payer",
        "billing_provider",
        "rendering_provider",
        "place_of_service",
    )
    return {k: copy.deepcopy(example[k]) for k in keep}


def _claims_count(client: TestClient) -> int:
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        return int(s.scalar(select(func.count()).select_from(ClaimRow)) or 0)


def test_explicit_claim_is_stored_ready_and_downloadable(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    h = claims_keys.headers("coder")
    r = claims_client.post("/v1/claims", json=request_dict, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "ready" and body["edits"] == []
    assert body["created_by"] == claims_keys.name("coder")
    got = claims_client.get(f"/v1/claims/{body['id']}", headers=h).json()
    assert got["x12"] == body["x12"] and got["fhir"] == body["fhir"]
    x12 = claims_client.get(f"/v1/claims/{body['id']}/x12", headers=h)
    assert x12.status_code == 200 and x12.headers["content-type"].startswith("text/plain")
    assert pyx12_errors(x12.text) == []
    fhir = claims_client.get(f"/v1/claims/{body['id']}/fhir", headers=h)
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    assert Claim.model_validate(fhir.json()).id == body["id"]


def test_reviewed_suggestion_set_round_trip_to_x12_and_fhir(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    set_id = _suggestion_set(claims_client)
    review = _review(claims_client, claims_keys, set_id)
    final = [(c["system"], c["code"]) for c in review["final_codes"]]
    body = _parties(request_dict) | {
        "suggestion_set_id": set_id,
        "date_of_service": "2025-03-14",
        "fees": {"99214": "165.00", "83036": "28.00", "36415": "12.00"},
    }
    h = claims_keys.headers("coder")
    r = claims_client.post("/v1/claims", json=body, headers=h)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "ready", claim["edits"]
    assert claim["suggestion_set_id"] == set_id
    dx = [c for s, c in final if s == "ICD-10-CM"]
    services = [c for s, c in final if s != "ICD-10-CM"]
    assert dx == ["E11.9", "I10"] and sorted(services) == ["36415", "83036", "99214"]
    x12 = claims_client.get(f"/v1/claims/{claim['id']}/x12", headers=h).text
    assert pyx12_errors(x12) == []
    assert "HI*ABK:E119*ABF:I10~" in x12
    assert all(f"SV1*HC:{c}*" in x12 for c in services)
    fhir = Claim.model_validate(
        claims_client.get(f"/v1/claims/{claim['id']}/fhir", headers=h).json()
    )
    assert [d.diagnosisCodeableConcept.coding[0].code for d in fhir.diagnosis] == dx
    assert sorted(i.productOrService.coding[0].code for i in fhir.item) == sorted(services)
    assert float(fhir.total.value) == 205.0


@pytest.mark.slow
def test_claim_from_the_real_model_round_trip(
    client: TestClient, keys: Keys, request_dict: dict[str, Any]
) -> None:
    """Suggest with the real small model, review (adding codes), build the claim.

    Slow only when run alone: `trained_model_dir` trains the shared test model once per session.
    """
    h = keys.headers("coder")
    r = client.post("/v1/suggestions", json={"text": NOTE, "top_k": 10}, headers=h)
    assert r.status_code == 201, r.text
    ss = r.json()
    wanted = [("ICD-10-CM", "E11.9"), ("CPT", "36415")]
    suggested = {(c["system"], c["code"]) for c in ss["codes"]}
    decisions = [
        {"system": sys_, "code": code, "action": "accept"}
        if (sys_, code) in wanted
        else {"system": sys_, "code": code, "action": "reject", "reason": "not_documented"}
        for sys_, code in suggested
    ]
    added = [
        {"system": sys_, "code": code} for sys_, code in wanted if (sys_, code) not in suggested
    ]
    r = client.post(
        f"/v1/suggestions/{ss['id']}/review",
        headers=h,
        json={"decisions": decisions, "added": added},
    )
    assert r.status_code == 201, r.text
    final = r.json()["final_codes"]
    assert sorted((c["system"], c["code"]) for c in final) == sorted(wanted)
    body = _parties(request_dict) | {
        "suggestion_set_id": ss["id"],
        "date_of_service": "2025-03-14",
        "fees": {"36415": "12"},
    }
    r = client.post("/v1/claims", json=body, headers=h)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "ready", claim["edits"]
    assert pyx12_errors(claim["x12"]) == []
    fhir = Claim.model_validate(claim["fhir"])
    assert [d.diagnosisCodeableConcept.coding[0].code for d in fhir.diagnosis] == ["E11.9"]
    assert [i.productOrService.coding[0].code for i in fhir.item] == ["36415"]
    assert "HI*ABK:E119~" in claim["x12"]


def test_rejected_claim_is_stored_with_edits_and_no_rendering(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    h = claims_keys.headers("coder")
    request_dict["billing_provider"]["npi"] = "1234567890"
    request_dict["lines"].append(
        {"code": "20610", "charge": "0", "diagnosis_pointers": [1], "date_of_service": "2025-03-14"}
    )
    r = claims_client.post("/v1/claims", json=request_dict, headers=h)
    assert r.status_code == 201, r.text
    claim = r.json()
    assert claim["status"] == "rejected"
    assert {e["code"] for e in claim["edits"]} >= {
        "npi.invalid",
        "mod.25_required",
        "money.zero_charge",
    }
    assert claim["x12"] is None and claim["fhir"] is None and claim["cms1500"] is None
    for kind in ("x12", "fhir"):
        down = claims_client.get(f"/v1/claims/{claim['id']}/{kind}", headers=h)
        assert down.status_code == 409
        assert down.json()["error"]["code"] == "claim_rejected"
    assert claims_client.get(f"/v1/claims/{claim['id']}", headers=h).json()["status"] == "rejected"


def test_missing_fields_are_one_422_naming_every_field(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    before = _claims_count(claims_client)
    for key in ("patient", "payer", "diagnoses", "lines"):
        del request_dict[key]
    del request_dict["billing_provider"]["npi"]
    del request_dict["subscriber"]["member_id"]
    r = claims_client.post("/v1/claims", json=request_dict, headers=claims_keys.headers("coder"))
    assert r.status_code == 422
    err = r.json()["error"]
    named = {d["field"] for d in err["details"]}
    assert named == {
        "patient",
        "payer",
        "diagnoses",
        "lines",
        "billing_provider.npi",
        "subscriber.member_id",
    }
    assert all(f in err["message"] for f in named)
    assert _claims_count(claims_client) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["lines"][0].update(charge="-5"), "lines[0].charge"),
        (lambda r: r["lines"][0].update(modifiers=["2"]), "lines[0].modifiers[0]"),
        (lambda r: r["patient"].update(sex="X"), "patient.sex"),
        (lambda r: r["patient"].update(birth_date="1968-13-40"), "patient.birth_date"),
        (lambda r: r["billing_provider"].update(tax_id="37-1234567"), "billing_provider.tax_id"),
        (lambda r: r.update(surprise=1), "surprise"),
    ],
)
def test_malformed_values_are_422_naming_the_field(
    claims_client: TestClient,
    claims_keys: Keys,
    request_dict: dict[str, Any],
    change: Any,
    field: str,
) -> None:
    change(request_dict)
    r = claims_client.post("/v1/claims", json=request_dict, headers=claims_keys.headers("coder"))
    assert r.status_code == 422
    assert field in {d["field"] for d in r.json()["error"]["details"]}


def test_suggestion_set_paths(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    h = claims_keys.headers("coder")
    base = _parties(request_dict)
    r = claims_client.post(
        "/v1/claims", headers=h, json=base | {"suggestion_set_id": str(uuid.uuid4())}
    )
    assert r.status_code == 404 and r.json()["error"]["field"] == "suggestion_set_id"
    unreviewed = _suggestion_set(claims_client)
    r = claims_client.post("/v1/claims", headers=h, json=base | {"suggestion_set_id": unreviewed})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_reviewed"
    _review(claims_client, claims_keys, unreviewed)
    r = claims_client.post(
        "/v1/claims",
        headers=h,
        json=base | {"suggestion_set_id": unreviewed, "fees": {"99214": "1"}},
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"]["missing"] == [
        "date_of_service",
        "fees.83036",
        "fees.36415",
    ]


def test_roles_and_unknown_ids(
    claims_client: TestClient, claims_keys: Keys, request_dict: dict[str, Any]
) -> None:
    assert claims_client.post("/v1/claims", json=request_dict).status_code == 401
    for role in ("auditor", "ehr"):
        r = claims_client.post("/v1/claims", json=request_dict, headers=claims_keys.headers(role))
        assert r.status_code == 403
    r = claims_client.post("/v1/claims", json=request_dict, headers=claims_keys.headers("admin"))
    assert r.status_code == 201
    missing = claims_client.get(f"/v1/claims/{uuid.uuid4()}", headers=claims_keys.headers("coder"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "claim_not_found"
