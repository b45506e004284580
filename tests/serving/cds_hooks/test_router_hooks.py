"""Hook calls end to end: prefetch, FHIR server fetch, 412, stored suggestion sets, cards."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fhir.resources.R4B.chargeitem import ChargeItem
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.devicerequest import DeviceRequest
from fhir.resources.R4B.servicerequest import ServiceRequest
from sqlalchemy import select

from serving.cds_hooks.cards import CODE_SYSTEM_URI, card_codes, indicator, suggestion_uuid
from serving.db.models import NoteRow, SuggestionSetRow, User
from serving.schemas.suggestions import SuggestedCodePublic
from tests.serving.cds_hooks.conftest import (
    CONTEXT,
    ENCOUNTER,
    FHIR_TOKEN,
    ISS,
    NOTE_TEXT,
    PATIENT,
    Ehr,
    FhirServer,
    document,
    note_bundle,
)

DISCHARGE = "/cds-services/chartcoder-discharge-coding"
PATIENT_VIEW = "/cds-services/chartcoder-patient-view-coding"
ORDER_SIGN = "/cds-services/chartcoder-order-coding"


def _request(hook: str, *, prefetch: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": dict(CONTEXT),
        **extra,
    }
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def _prefetch() -> dict[str, Any]:
    return {
        "patient": PATIENT,
        "encounter": ENCOUNTER,
        "notes": note_bundle(document("doc-1")),
    }


def _session(ehr: Ehr) -> Any:
    return ehr.client.app.state.session_factory()  # type: ignore[attr-defined]


def _check_card(card: dict[str, Any], note_text: str, ehr: Ehr) -> None:
    assert set(card) >= {"uuid", "summary", "indicator", "detail", "source", "suggestions"}
    assert len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["selectionBehavior"] == "any"
    assert card["source"]["label"]
    assert {r["code"] for r in card["overrideReasons"]} >= {"not_documented", "negated"}
    with _session(ehr) as session:
        sset = session.get(SuggestionSetRow, card["uuid"])
        assert sset is not None, "card uuid is the stored suggestion set id"
        note = session.get(NoteRow, sset.note_id)
        assert note.source == "cds" and note.text == note_text
        assert sset.created_by == f"cds:{ISS}"
        codes = {(c["system"], c["code"]): c for c in sset.codes_json}
    for c in codes.values():
        for span in c["evidence"]:
            assert note_text[span["start"] : span["end"]] == span["text"]
    for s in card["suggestions"]:
        assert s["uuid"] and s["label"] and s["actions"]
        for action in s["actions"]:
            assert action["type"] in ("create", "update") and action["description"]
            res = action["resource"]
            if res["resourceType"] == "Condition":
                coding = Condition.model_validate(res).code.coding[0]
                assert coding.system == CODE_SYSTEM_URI["ICD-10-CM"]
                stored = codes[("ICD-10-CM", coding.code)]
                assert s["isRecommended"] == stored["accepted"]
                # the detail quotes the evidence of every code on the card
                assert f"**{coding.code}**" in card["detail"]
            elif res["resourceType"] == "ChargeItem":
                coding = ChargeItem.model_validate(res).code.coding[0]
                assert coding.system in (CODE_SYSTEM_URI["CPT"], CODE_SYSTEM_URI["HCPCS"])
            elif res["resourceType"] == "DeviceRequest":
                DeviceRequest.model_validate(res)
            else:
                ServiceRequest.model_validate(res)


def test_discharge_with_prefetch(ehr: Ehr) -> None:
    response = ehr.post(DISCHARGE, _request("encounter-discharge", prefetch=_prefetch()))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    _check_card(card, NOTE_TEXT, ehr)
    with _session(ehr) as session:
        stored = session.get(SuggestionSetRow, card["uuid"]).codes_json
    shown = card_codes([SuggestedCodePublic.model_validate(c) for c in stored])
    assert [s["uuid"] for s in card["suggestions"]] == [
        suggestion_uuid(card["uuid"], c.system, c.code) for c in shown
    ]
    assert card["indicator"] == indicator(shown)
    cond = next(
        a["resource"]
        for s in card["suggestions"]
        for a in s["actions"]
        if a["resource"]["resourceType"] == "Condition"
    )
    assert cond["subject"] == {"reference": "Patient/pat-1"}
    assert cond["encounter"] == {"reference": "Encounter/enc-1"}
    # Patient and Encounter became note metadata (age at admission, sex, setting, date).
    with _session(ehr) as session:
        note = session.get(NoteRow, session.get(SuggestionSetRow, card["uuid"]).note_id)
        assert note.meta_json["setting"] == "inpatient"
        assert note.meta_json["sex"] == "F" and note.meta_json["age"] == 67
        assert note.meta_json["date_of_service"] == "2026-11-17"
        user = session.scalar(select(User).where(User.name == f"cds:{ISS}"))
        assert user is not None and user.role == "ehr" and user.disabled_at is not None


def test_patient_view_suggests_diagnoses_only(ehr: Ehr) -> None:
    prefetch = _prefetch()
    prefetch["notes"] = note_bundle(document("doc-a"), document("doc-b", date="2026-11-21"))
    response = ehr.post(PATIENT_VIEW, _request("patient-view", prefetch=prefetch))
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 2  # one card per note
    for card in cards:
        _check_card(card, NOTE_TEXT, ehr)
        for s in card["suggestions"]:
            assert {a["resource"]["resourceType"] for a in s["actions"]} == {"Condition"}


def test_order_sign_codes_draft_orders(ehr: Ehr) -> None:
    order = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "draft",
        "intent": "order",
        "code": {"text": "MRI of the knee without contrast"},
        "reasonCode": [{"text": "Left knee pain"}],
        "subject": {"reference": "Patient/pat-1"},
    }
    context = dict(CONTEXT, draftOrders=note_bundle(order))
    body = _request("order-sign", prefetch={"patient": PATIENT, "encounter": ENCOUNTER})
    body["context"] = context
    response = ehr.post(ORDER_SIGN, body)
    assert response.status_code == 200, response.text
    order_text = "MRI of the knee without contrast. Left knee pain"
    with _session(ehr) as session:
        note = session.scalars(
            select(NoteRow).where(NoteRow.text == order_text, NoteRow.source == "cds")
        ).first()
        assert note is not None, "the draft order's text was stored like a note"
        sset = session.scalars(
            select(SuggestionSetRow).where(SuggestionSetRow.note_id == note.id)
        ).one()
        assert set(sset.systems_json) == {"CPT", "HCPCS"}
        assert {c["system"] for c in sset.codes_json} <= {"CPT", "HCPCS"}
    cards = response.json()["cards"]
    assert [c["uuid"] for c in cards] == ([sset.id] if cards else [])
    for card in cards:
        _check_card(card, order_text, ehr)
        for s in card["suggestions"]:
            update, charge = s["actions"]
            assert update["type"] == "update"
            updated = ServiceRequest.model_validate(update["resource"])
            assert updated.id == "sr-1" and updated.status == "draft"
            assert any(
                c.system in (CODE_SYSTEM_URI["CPT"], CODE_SYSTEM_URI["HCPCS"])
                for c in updated.code.coding
            )
            assert ChargeItem.model_validate(charge["resource"]).status == "planned"


def _serve_notes(fhir_server: FhirServer, *, inline: bool) -> None:
    fhir_server.add_json("/Patient/pat-1", PATIENT)
    fhir_server.add_json("/Encounter/enc-1", ENCOUNTER)
    doc = document("doc-9") if inline else document("doc-9", text=None, url="Binary/bin-9")
    fhir_server.add_json("/DocumentReference?patient=pat-1&encounter=enc-1", note_bundle(doc))
    fhir_server.add_text("/Binary/bin-9", NOTE_TEXT)


@pytest.mark.parametrize(
    "path, hook, inline",
    [
        (DISCHARGE, "encounter-discharge", True),
        (DISCHARGE, "encounter-discharge", False),
        (PATIENT_VIEW, "patient-view", False),
    ],
)
def test_without_prefetch_fetches_from_the_fhir_server(
    ehr: Ehr, fhir_server: FhirServer, path: str, hook: str, inline: bool
) -> None:
    _serve_notes(fhir_server, inline=inline)
    fhir_server.requests.clear()
    body = _request(
        hook,
        prefetch=None,
        fhirServer=f"{fhir_server.base_url}/fhir",
        fhirAuthorization={
            "access_token": FHIR_TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/DocumentReference.read patient/Patient.read",
            "subject": "chartcoder",
        },
    )
    response = ehr.post(path, body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    assert len(cards) == 1
    _check_card(cards[0], NOTE_TEXT, ehr)
    paths = [p for p, _ in fhir_server.requests]
    assert {"/fhir/Patient/pat-1", "/fhir/Encounter/enc-1"} <= set(paths)
    assert "/fhir/DocumentReference?patient=pat-1&encounter=enc-1" in paths
    assert ("/fhir/Binary/bin-9" in paths) is (not inline)
    assert all(auth == f"Bearer {FHIR_TOKEN}" for _, auth in fhir_server.requests)


def test_order_sign_without_prefetch_fetches_patient_and_encounter(
    ehr: Ehr, fhir_server: FhirServer
) -> None:
    _serve_notes(fhir_server, inline=True)
    fhir_server.requests.clear()
    order = {
        "resourceType": "DeviceRequest",
        "id": "dr-1",
        "status": "draft",
        "intent": "order",
        "codeCodeableConcept": {"text": "Influenza vaccine administration"},
        "subject": {"reference": "Patient/pat-1"},
    }
    body = _request(
        "order-sign",
        prefetch=None,
        fhirServer=f"{fhir_server.base_url}/fhir",
        fhirAuthorization={"access_token": FHIR_TOKEN, "token_type": "Bearer"},
    )
    body["context"]["draftOrders"] = note_bundle(order)
    response = ehr.post(ORDER_SIGN, body)
    assert response.status_code == 200, response.text
    assert sorted(p for p, _ in fhir_server.requests) == [
        "/fhir/Encounter/enc-1",
        "/fhir/Patient/pat-1",
    ]
    with _session(ehr) as session:
        note = session.scalars(
            select(NoteRow).where(NoteRow.text == "Influenza vaccine administration")
        ).first()
        assert note is not None and note.meta_json["setting"] == "inpatient"
    for card in response.json()["cards"]:
        _check_card(card, "Influenza vaccine administration", ehr)
        for s in card["suggestions"]:
            assert s["actions"][0]["resource"]["resourceType"] == "DeviceRequest"


def test_partial_prefetch_fetches_only_what_is_missing(ehr: Ehr, fhir_server: FhirServer) -> None:
    _serve_notes(fhir_server, inline=True)
    fhir_server.requests.clear()
    body = _request(
        "encounter-discharge",
        prefetch={"patient": PATIENT, "encounter": ENCOUNTER},
        fhirServer=f"{fhir_server.base_url}/fhir",
        fhirAuthorization={"access_token": FHIR_TOKEN, "token_type": "Bearer"},
    )
    response = ehr.post(DISCHARGE, body)
    assert response.status_code == 200, response.text
    assert [p for p, _ in fhir_server.requests] == [
        "/fhir/DocumentReference?patient=pat-1&encounter=enc-1"
    ]


def test_412_when_notes_are_neither_prefetched_nor_fetchable(
    ehr: Ehr, fhir_server: FhirServer
) -> None:
    with _session(ehr) as session:
        before = len(session.scalars(select(SuggestionSetRow.id)).all())
    no_server = _request("encounter-discharge", prefetch={"patient": PATIENT})
    response = ehr.post(DISCHARGE, no_server)
    assert response.status_code == 412, response.text
    assert response.json()["error"]["code"] == "prefetch_unavailable"
    assert response.json()["error"]["field"] == "prefetch.notes"

    _serve_notes(fhir_server, inline=True)
    bad_token = _request(
        "encounter-discharge",
        prefetch=None,
        fhirServer=f"{fhir_server.base_url}/fhir",
        fhirAuthorization={"access_token": "expired-token", "token_type": "Bearer"},
    )
    response = ehr.post(DISCHARGE, bad_token)
    assert response.status_code == 412, response.text

    url_only = _prefetch()
    url_only["notes"] = note_bundle(document("doc-u", text=None, url="Binary/bin-9"))
    response = ehr.post(DISCHARGE, _request("encounter-discharge", prefetch=url_only))
    assert response.status_code == 412, response.text
    with _session(ehr) as session:
        assert len(session.scalars(select(SuggestionSetRow.id)).all()) == before


def test_null_notes_prefetch_means_no_cards(ehr: Ehr) -> None:
    prefetch = _prefetch()
    prefetch["notes"] = None
    response = ehr.post(DISCHARGE, _request("encounter-discharge", prefetch=prefetch))
    assert response.status_code == 200
    assert response.json() == {"cards": []}


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda b: b.update(hook="patient-view"), "hook"),
        (lambda b: b["context"].pop("encounterId"), "context.encounterId"),
        (lambda b: b.update(fhirAuthorization={"access_token": "t"}), "fhirServer"),
        (lambda b: b.pop("hookInstance"), "hookInstance"),
    ],
)
def test_bad_requests_name_the_field(ehr: Ehr, mutate: Any, field: str) -> None:
    body = _request("encounter-discharge", prefetch=_prefetch())
    mutate(body)
    response = ehr.post(DISCHARGE, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_unknown_service_is_404(ehr: Ehr) -> None:
    body = _request("encounter-discharge", prefetch=_prefetch())
    response = ehr.post("/cds-services/no-such-service", body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_service"
