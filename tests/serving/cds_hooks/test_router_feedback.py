"""Feedback round trip: cards -> accepted / overridden -> review revisions -> corrections export."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from serving.cds_hooks.cards import OVERRIDE_REASON_SYSTEM
from serving.db.models import CorrectionEventRow, ReviewRow
from serving.services import corrections
from tests.serving.cds_hooks.conftest import (
    CONTEXT,
    ENCOUNTER,
    ISS,
    ISS_REMOTE,
    PATIENT,
    Ehr,
    document,
    note_bundle,
)

DISCHARGE = "/cds-services/chartcoder-discharge-coding"
FEEDBACK = DISCHARGE + "/feedback"
WHEN = "2026-11-26T23:50:00Z"


def _card(ehr: Ehr) -> dict[str, Any]:
    body = {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": dict(CONTEXT),
        "prefetch": {
            "patient": PATIENT,
            "encounter": ENCOUNTER,
            "notes": note_bundle(document("doc-f")),
        },
    }
    response = ehr.post(DISCHARGE, body)
    assert response.status_code == 200, response.text
    card: dict[str, Any] = response.json()["cards"][0]
    assert len(card["suggestions"]) >= 2
    return card


def _export(ehr: Ehr, set_id: str) -> dict[str, Any]:
    with ehr.client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        rows = [e for e in corrections.export(session) if e["suggestion_set_id"] == set_id]
    assert len(rows) == 1
    return rows[0]


def _code_of(card: dict[str, Any], suggestion: dict[str, Any]) -> tuple[str, str]:
    res = suggestion["actions"][-1]["resource"]
    coding = res["code"]["coding"][-1]
    system = {
        "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
        "http://www.ama-assn.org/go/cpt": "CPT",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets": "HCPCS",
    }[coding["system"]]
    return system, coding["code"]


def test_accepted_then_overridden_round_trip(ehr: Ehr) -> None:
    card = _card(ehr)
    first, second = card["suggestions"][0], card["suggestions"][1]
    accepted = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": first["uuid"]}],
                "outcomeTimestamp": WHEN,
            }
        ]
    }
    response = ehr.post(FEEDBACK, accepted)
    assert response.status_code == 200, response.text
    result = response.json()["reviews"][0]
    assert result["revision"] == 1
    assert result["accepted"] == ["{}:{}".format(*_code_of(card, first))]

    example = _export(ehr, card["uuid"])
    assert example["reviewed_by"] == f"cds:{ISS}"
    assert [(c["action"], c["system"], c["code"]) for c in example["corrections"]] == [
        ("accept", *_code_of(card, first))
    ]
    assert _code_of(card, first) in {(c["system"], c["code"]) for c in example["final_codes"]}

    # A second accept on the same card adds up: both stay accepted in the next revision.
    accepted["feedback"][0]["acceptedSuggestions"] = [{"id": second["uuid"]}]
    assert ehr.post(FEEDBACK, accepted).json()["reviews"][0]["revision"] == 2
    example = _export(ehr, card["uuid"])
    assert {(c["action"], c["system"], c["code"]) for c in example["corrections"]} == {
        ("accept", *_code_of(card, first)),
        ("accept", *_code_of(card, second)),
    }

    # Overriding the card rejects every code on it, with the clinician's reason and comment.
    overridden = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {
                    "reason": {
                        "system": OVERRIDE_REASON_SYSTEM,
                        "code": "negated",
                        "display": "Negated or ruled out in the note",
                    },
                    "userComment": "ruled out on imaging",
                },
                "outcomeTimestamp": WHEN,
            }
        ]
    }
    response = ehr.post(FEEDBACK, overridden)
    assert response.status_code == 200, response.text
    assert len(response.json()["reviews"][0]["rejected"]) == len(card["suggestions"])
    example = _export(ehr, card["uuid"])
    assert example["revision"] == 3
    assert len(example["corrections"]) == len(card["suggestions"])
    for c in example["corrections"]:
        assert (c["action"], c["reason"], c["comment"]) == (
            "reject",
            "negated",
            "ruled out on imaging",
        )
    shown = {_code_of(card, s) for s in card["suggestions"]}
    assert not shown & {(c["system"], c["code"]) for c in example["final_codes"]}


def test_override_without_or_with_foreign_reason_becomes_other(ehr: Ehr) -> None:
    card = _card(ehr)
    body = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": WHEN},
        ]
    }
    assert ehr.post(FEEDBACK, body).status_code == 200
    example = _export(ehr, card["uuid"])
    assert {c["reason"] for c in example["corrections"]} == {"other"}
    assert all("without a reason" in c["comment"] for c in example["corrections"])

    body["feedback"][0]["overrideReason"] = {
        "reason": {"system": "https://ehr.example.test/reasons", "code": "pt-refused"}
    }
    assert ehr.post(FEEDBACK, body).status_code == 200
    example = _export(ehr, card["uuid"])
    assert all("pt-refused" in c["comment"] for c in example["corrections"])


@pytest.fixture(scope="module")
def untouched_card(ehr: Ehr) -> dict[str, Any]:
    """One card shared by the refused-feedback cases (they must leave it unreviewed)."""
    return _card(ehr)


@pytest.mark.parametrize(
    "entry, status, field",
    [
        ({"card": "not-a-card", "outcome": "overridden"}, 404, "feedback[0].card"),
        (
            {"outcome": "accepted", "acceptedSuggestions": [{"id": "x"}]},
            422,
            "feedback[0].acceptedSuggestions[0].id",
        ),
        ({"outcome": "accepted"}, 422, "feedback[0].acceptedSuggestions"),
        ({"outcome": "ignored"}, 422, "feedback[0].outcome"),
    ],
)
def test_bad_feedback_names_the_field_and_stores_nothing(
    ehr: Ehr, untouched_card: dict[str, Any], entry: dict[str, Any], status: int, field: str
) -> None:
    card = untouched_card
    item = {"card": card["uuid"], "outcomeTimestamp": WHEN, **entry}
    response = ehr.post(FEEDBACK, {"feedback": [item]})
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == field
    with ehr.client.app.state.session_factory() as session:  # type: ignore[attr-defined]
        assert (
            session.scalars(
                select(ReviewRow).where(ReviewRow.suggestion_set_id == card["uuid"])
            ).all()
            == []
        )
        assert (
            session.scalars(
                select(CorrectionEventRow).where(
                    CorrectionEventRow.suggestion_set_id == card["uuid"]
                )
            ).all()
            == []
        )


def test_a_client_cannot_give_feedback_on_another_clients_card(ehr: Ehr) -> None:
    card = _card(ehr)
    body = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": WHEN}]}
    other = ehr.keys.other_rsa_private
    token = ehr.token(
        "http://testserver" + FEEDBACK, iss=ISS_REMOTE, alg="RS256", kid="remote-1", key=other
    )
    response = ehr.client.post(FEEDBACK, json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_card"
