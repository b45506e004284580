"""Assemble a claim: resolve codes, run the edits, render only when no error-severity edit fired.

Pure domain code (no HTTP, no database): the API service and the CLI both call `build_claim`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from serving.claims.catalog import ICD10CM, CodeCatalog
from serving.claims.cms1500 import render_cms1500
from serving.claims.edits import has_errors, run_edits
from serving.claims.fhir import render_fhir_claim, validate_fhir_claim
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimEdit, Diagnosis, ServiceLine
from serving.claims.x12 import Envelope, render_837p

SERVICE_SYSTEMS = ("CPT", "HCPCS")


@dataclass(frozen=True, slots=True)
class BuiltClaim:
    status: Literal["ready", "rejected"]
    edits: list[ClaimEdit]
    claim: ClaimCreate
    patient_control_number: str
    x12: str | None = None
    fhir: dict[str, Any] | None = None
    cms1500: dict[str, Any] | None = field(default=None)


class ClaimInputError(ValueError):
    """The request cannot become a claim (e.g. a service code without a fee). Names fields."""

    def __init__(self, message: str, fields: Sequence[str]) -> None:
        super().__init__(message)
        self.fields = list(fields)


@dataclass(frozen=True, slots=True)
class ReviewedCode:
    system: str
    code: str


def claim_from_review(request: ClaimCreate, codes: Sequence[ReviewedCode]) -> ClaimCreate:
    """The explicit claim for `request` whose codes come from a reviewed suggestion set.

    ICD-10-CM codes become `diagnoses` in review order (the first is first-listed) unless the
    request lists its own. CPT/HCPCS codes become `lines` unless the request lists its own: each
    line is dated `date_of_service`, priced from `fees` and points at the first four diagnoses.
    """
    diagnoses = request.diagnoses
    if diagnoses is None:
        diagnoses = [Diagnosis(code=c.code) for c in codes if c.system == ICD10CM]
    lines = request.lines
    if lines is None:
        services = [c for c in codes if c.system in SERVICE_SYSTEMS]
        fees = request.fees or {}
        missing = [f"fees.{c.code}" for c in services if c.code not in fees]
        if services and request.date_of_service is None:
            missing.insert(0, "date_of_service")
        if missing:
            raise ClaimInputError(
                "lines built from the review need a date of service and a fee for every "
                f"service code; missing: {', '.join(missing)}",
                missing,
            )
        pointers = list(range(1, min(len(diagnoses), 4) + 1))
        day = request.date_of_service
        lines = [
            ServiceLine(
                system="HCPCS" if c.system == "HCPCS" else "CPT",
                code=c.code,
                charge=fees[c.code],
                diagnosis_pointers=pointers,
                date_of_service=day,
            )
            for c in services
            if day is not None
        ]
    return request.model_copy(update={"diagnoses": diagnoses, "lines": lines})


def control_number_for(claim_id: str) -> int:
    """A stable 9-digit interchange control number (1..999999999) derived from the claim id."""
    return int(hashlib.sha256(claim_id.encode()).hexdigest()[:12], 16) % 999_999_999 + 1


def patient_control_number_for(claim: ClaimCreate, claim_id: str) -> str:
    if claim.patient_control_number:
        return claim.patient_control_number
    return "CC" + claim_id.replace("-", "").upper()[:18]


def build_claim(
    claim: ClaimCreate,
    *,
    catalog: CodeCatalog,
    claim_id: str,
    created: dt.datetime,
    tables: NcciTables | None = None,
    verify_x12: bool = False,
) -> BuiltClaim:
    """Run the edits on an explicit claim; render X12, FHIR and CMS-1500 when it is clean.

    `verify_x12` also runs pyx12 on the 837P (about a second); any error it reports rejects the
    claim, so an invalid file is never handed out.
    """
    pcn = patient_control_number_for(claim, claim_id)
    edits = run_edits(claim, catalog, tables)
    if has_errors(edits):
        return BuiltClaim("rejected", edits, claim, pcn)
    env = Envelope(
        control_number=control_number_for(claim_id),
        created=created,
        sender_id=claim.billing_provider.npi,
        receiver_id=claim.payer.payer_id,
    )
    x12 = render_837p(claim, env, patient_control_number=pcn)
    fhir = render_fhir_claim(claim, claim_id=claim_id, patient_control_number=pcn, created=created)
    cms1500 = render_cms1500(claim, patient_control_number=pcn)
    problems = _render_problems(x12, fhir, verify_x12)
    if problems:
        return BuiltClaim("rejected", edits + problems, claim, pcn)
    return BuiltClaim("ready", edits, claim, pcn, x12=x12, fhir=fhir, cms1500=cms1500)


def _render_problems(x12: str, fhir: dict[str, Any], verify_x12: bool) -> list[ClaimEdit]:
    out: list[ClaimEdit] = []
    try:
        validate_fhir_claim(fhir)
    except ValidationError as exc:
        out.append(
            ClaimEdit(
                code="fhir.invalid",
                severity="error",
                message=f"the FHIR Claim failed validation: {exc.errors()[0]['msg']}",
                rule="render_fhir",
                source="fhir.resources R4B Claim model",
            )
        )
    if verify_x12:
        from serving.claims.x12check import pyx12_errors

        for err in pyx12_errors(x12)[:10]:
            out.append(
                ClaimEdit(
                    code="x12.invalid",
                    severity="error",
                    message=str(err.get("err_str") or err.get("message")),
                    rule="render_x12",
                    source="pyx12 005010X222A1 map",
                )
            )
    return out
