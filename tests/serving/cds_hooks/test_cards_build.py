"""Cards from a stored suggestion set: fields, indicator, identifiers, valid FHIR actions."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from fhir.resources.R4B.chargeitem import ChargeItem
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.servicerequest import ServiceRequest

from serving.cds_hooks.cards import (
    CODE_SYSTEM_URI,
    CRITICAL_SCORE,
    MAX_CARD_CODES,
    MIN_CARD_SCORE,
    OVERRIDE_REASON_SYSTEM,
    CardContext,
    build_card,
    suggestion_uuid,
)
from serving.schemas.reviews import REJECT_REASONS
from serving.schemas.suggestions import SuggestionSetPublic

TEXT = "Assessment: Type 2 diabetes mellitus [controlled] *well*. MRI of the knee."
SET_ID = "5f0c3f7e-1f7a-4a53-9a55-2a9d8a3c2b10"


def _code(system: str, code: str, score: float, accepted: bool, span: tuple[int, int] | None):
    evidence = []
    if span is not None:
        evidence = [{"start": span[0], "end": span[1], "text": TEXT[span[0] : span[1]]}]
    return {
        "system": system,
        "code": code,
        "description": f"label of {code}",
        "score": score,
        "rank": 1,
        "accepted": accepted,
        "evidence": evidence,
    }


def _set(*codes: dict[str, Any]) -> SuggestionSetPublic:
    return SuggestionSetPublic.model_validate(
        {
            "id": SET_ID,
            "note_id": "n1",
            "model_version": "v-test",
            "systems": ["ICD-10-CM", "CPT", "HCPCS"],
            "top_k": 10,
            "codes": list(codes),
            "latency_ms": 1.0,
            "created_by": "cds:x",
            "created_at": dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
        }
    )


CTX = CardContext(
    service_id="svc",
    hook="encounter-discharge",
    patient_id="pat-1",
    encounter_id="enc-1",
    user_id="Practitioner/prac-1",
    source_label="chartcoder",
    source_url=None,
    note_label="Discharge summary",
)


def test_card_fields_and_fhir_resources() -> None:
    sset = _set(
        _code("ICD-10-CM", "E119", 0.9, True, (12, 56)),
        _code("CPT", "73721", 0.5, False, (58, 74)),
        _code("HCPCS", "G0008", 0.3, False, None),
        _code("ICD-10-CM", "R07.9", MIN_CARD_SCORE / 2, False, None),
    )
    card = build_card(sset, CTX)
    assert card is not None
    assert card["uuid"] == SET_ID
    assert len(card["summary"]) < 140
    assert card["indicator"] == "warning"
    assert card["selectionBehavior"] == "any"
    assert card["source"] == {"label": "chartcoder"}
    assert [r["code"] for r in card["overrideReasons"]] == list(REJECT_REASONS)
    assert all(
        r["system"] == OVERRIDE_REASON_SYSTEM and r["display"] for r in card["overrideReasons"]
    )
    suggestions = card["suggestions"]
    assert [s["isRecommended"] for s in suggestions] == [True, False, False]  # R07.9 below floor
    assert suggestions[0]["uuid"] == suggestion_uuid(SET_ID, "ICD-10-CM", "E119")
    assert len({s["uuid"] for s in suggestions}) == 3

    cond = suggestions[0]["actions"][0]
    assert cond["type"] == "create"
    condition = Condition.model_validate(cond["resource"])
    coding = condition.code.coding[0]
    assert (coding.system, coding.code) == (CODE_SYSTEM_URI["ICD-10-CM"], "E11.9")
    assert condition.subject.reference == "Patient/pat-1"
    assert condition.encounter.reference == "Encounter/enc-1"

    cpt = suggestions[1]["actions"]
    assert [a["type"] for a in cpt] == ["create"]
    charge = ChargeItem.model_validate(cpt[0]["resource"])
    assert charge.status == "billable"
    assert charge.code.coding[0].system == CODE_SYSTEM_URI["CPT"]
    assert charge.code.coding[0].display is None  # no AMA descriptor text
    hcpcs = ChargeItem.model_validate(suggestions[2]["actions"][0]["resource"])
    assert hcpcs.code.coding[0].system == CODE_SYSTEM_URI["HCPCS"]


def test_detail_quotes_evidence_as_escaped_markdown() -> None:
    card = build_card(_set(_code("ICD-10-CM", "E11.9", 0.9, True, (12, 56))), CTX)
    assert card is not None
    detail = card["detail"]
    assert "**E11.9**" in detail
    assert r"> “Type 2 diabetes mellitus \[controlled\] \*well\*”" in detail


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([(0.4, False), (0.3, False)], "info"),
        ([(0.6, True), (0.3, False)], "warning"),
        ([(CRITICAL_SCORE, True)], "critical"),
        ([(0.99, False)], "info"),
    ],
)
def test_indicator_follows_confidence(scores: list[tuple[float, bool]], expected: str) -> None:
    codes = [_code("ICD-10-CM", f"A0{i}", s, a, None) for i, (s, a) in enumerate(scores)]
    card = build_card(_set(*codes), CTX)
    assert card is not None and card["indicator"] == expected


def test_no_card_without_codes() -> None:
    assert build_card(_set(), CTX) is None
    assert build_card(_set(_code("CPT", "99213", 0.001, False, None)), CTX) is None


def test_summary_is_capped() -> None:
    ctx = replace(CTX, note_label="x" * 300)
    card = build_card(_set(_code("ICD-10-CM", "E11.9", 0.9, True, None)), ctx)
    assert card is not None and len(card["summary"]) < 140


def test_order_sign_updates_the_draft_order() -> None:
    order = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "status": "draft",
        "intent": "order",
        "code": {"text": "MRI knee"},
        "subject": {"reference": "Patient/pat-1"},
    }
    ctx = replace(CTX, hook="order-sign", draft_order=order)
    card = build_card(_set(_code("CPT", "73721", 0.7, True, None)), ctx)
    assert card is not None
    update, create = card["suggestions"][0]["actions"]
    assert update["type"] == "update"
    updated = ServiceRequest.model_validate(update["resource"])
    assert updated.id == "sr-1" and updated.code.text == "MRI knee"
    assert [(c.system, c.code) for c in updated.code.coding] == [(CODE_SYSTEM_URI["CPT"], "73721")]
    assert order["code"] == {"text": "MRI knee"}  # the draft itself is not mutated
    assert ChargeItem.model_validate(create["resource"]).status == "planned"


def test_accepted_codes_first_then_capped_candidates() -> None:
    candidates = [
        _code("ICD-10-CM", f"B{i:02d}", 0.5 - i / 100, False, None)
        for i in range(MAX_CARD_CODES + 4)
    ]
    low_but_accepted = _code("ICD-10-CM", "Z00.00", MIN_CARD_SCORE / 3, True, None)
    card = build_card(_set(*candidates, low_but_accepted), CTX)
    assert card is not None
    shown = [s["uuid"] for s in card["suggestions"]]
    assert len(shown) == MAX_CARD_CODES
    assert shown[0] == suggestion_uuid(SET_ID, "ICD-10-CM", "Z00.00")
    assert shown[1:] == [
        suggestion_uuid(SET_ID, "ICD-10-CM", f"B{i:02d}") for i in range(MAX_CARD_CODES - 1)
    ]
