"""Reading notes, patient and encounter facts out of FHIR R4 resources."""

from __future__ import annotations

import datetime as dt

import pytest

from serving.cds_hooks.fhir import (
    MAX_NOTES,
    FhirUnavailableError,
    PrefetchResolver,
    encounter_meta,
    notes_from,
    patient_meta,
    render_template,
)
from tests.serving.cds_hooks.conftest import ENCOUNTER, PATIENT, b64, document, note_bundle


def test_base64_text_plain_notes_are_read_exactly() -> None:
    text = "Assessment: café-au-lait spots.\r\nPlan: follow up.  "
    notes = notes_from(note_bundle(document("d1", text=text)))
    assert len(notes) == 1
    assert notes[0].text == text  # no normalisation: evidence offsets stay valid
    assert notes[0].reference == "DocumentReference/d1"
    assert notes[0].note_type == "Discharge summary"


def test_latin1_charset_is_honoured() -> None:
    doc = document("d1", text=None)
    doc["content"][0]["attachment"] = {
        "contentType": "text/plain; charset=iso-8859-1",
        "data": __import__("base64").b64encode("Fièvre".encode("latin-1")).decode(),
    }
    assert notes_from(doc)[0].text == "Fièvre"


def test_skips_non_text_and_retracted_documents() -> None:
    pdf = document("pdf", text=None)
    pdf["content"][0]["attachment"] = {"contentType": "application/pdf", "data": b64("%PDF")}
    wrong = document("wrong")
    wrong["status"] = "entered-in-error"
    old = document("old")
    old["status"] = "superseded"
    keep = document("keep")
    notes = notes_from(note_bundle(pdf, wrong, old, keep, {"resourceType": "Patient"}))
    assert [n.reference for n in notes] == ["DocumentReference/keep"]


def test_most_recent_first_and_capped() -> None:
    docs = [document(f"d{i}", date=f"2026-11-{10 + i:02d}") for i in range(MAX_NOTES + 3)]
    notes = notes_from(note_bundle(*docs))
    assert len(notes) == MAX_NOTES
    assert notes[0].reference == f"DocumentReference/d{MAX_NOTES + 2}"


def test_url_attachment_without_fhir_access_is_unavailable() -> None:
    doc = document("d1", text=None, url="Binary/b1")
    with pytest.raises(FhirUnavailableError) as err:
        notes_from(doc, fetch=None)
    assert err.value.key == "notes"


def test_null_prefetch_means_no_notes() -> None:
    assert notes_from(None) == []


def test_template_rendering() -> None:
    tpl = "DocumentReference?patient={{context.patientId}}&encounter={{context.encounterId}}"
    ctx = {"patientId": "p1", "encounterId": "e1"}
    assert render_template(tpl, ctx) == "DocumentReference?patient=p1&encounter=e1"
    assert render_template(tpl, {"patientId": "p1"}) == "DocumentReference?patient=p1"
    assert render_template("Encounter/{{context.encounterId}}", {"patientId": "p1"}) is None


def test_resolver_needs_prefetch_or_a_server() -> None:
    resolver = PrefetchResolver({"patient": "Patient/{{context.patientId}}"}, {}, {}, None)
    with pytest.raises(FhirUnavailableError, match="no fhirServer"):
        resolver.get("patient")
    assert resolver.optional("patient") is None
    given = PrefetchResolver({"patient": "x"}, {}, {"patient": PATIENT}, None)
    assert given.get("patient") == PATIENT


def test_patient_and_encounter_meta() -> None:
    enc = encounter_meta(ENCOUNTER)
    assert enc == {"setting": "inpatient", "date_of_service": "2026-11-17"}
    pat = patient_meta(PATIENT, on=dt.date(2026, 11, 17))
    assert pat == {"sex": "F", "age": 67}
    assert patient_meta(PATIENT, on=dt.date(2026, 3, 1))["age"] == 66
    assert patient_meta({"resourceType": "Patient", "gender": "unknown"}) == {"sex": "U"}


@pytest.mark.parametrize(
    "code, setting",
    [("AMB", "outpatient"), ("EMER", "ED"), ("OBSENC", "outpatient"), ("ACUTE", "inpatient")],
)
def test_encounter_class_to_setting(code: str, setting: str) -> None:
    enc = dict(ENCOUNTER, **{"class": {"code": code}})
    assert encounter_meta(enc)["setting"] == setting


def test_an_unreadable_document_is_skipped_when_others_are_readable() -> None:
    url_only = document("far", text=None, url="https://elsewhere.test/Binary/1", date="2026-11-25")
    notes = notes_from(note_bundle(url_only, document("near")), fetch=None)
    assert [n.reference for n in notes] == ["DocumentReference/near"]


def test_production_requires_https_fhir_server() -> None:
    from serving.cds_hooks.definitions import service_definitions
    from serving.cds_hooks.hooks import check_request
    from serving.cds_hooks.schemas import HookRequest
    from serving.errors import InvalidInput
    from tests.serving.cds_hooks.conftest import CONTEXT

    svc = service_definitions()["chartcoder-discharge-coding"]
    body = HookRequest.model_validate(
        {
            "hook": "encounter-discharge",
            "hookInstance": "h1",
            "fhirServer": "http://fhir.example.test/r4",
            "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
            "context": CONTEXT,
        }
    )
    check_request(body, svc, production=False)
    with pytest.raises(InvalidInput) as err:
        check_request(body, svc, production=True)
    assert err.value.field == "fhirServer"
