"""Render a claim as a FHIR R4 `Claim` (validated with the `fhir.resources` R4B models).

The patient, coverage, billing organization, payer organization and rendering practitioner are
contained resources referenced by `#id`. Diagnoses carry ICD-10-CM codes
(`http://hl7.org/fhir/sid/icd-10-cm`, dotted); items carry CPT (`http://www.ama-assn.org/go/cpt`)
or HCPCS Level II (`http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets`, the HL7
terminology canonical URL) with modifiers, `diagnosisSequence` (the line's diagnosis pointers),
`quantity`, `unitPrice` and `net` (the line charge); `total` is the sum of line charges.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from serving.claims.catalog import icd_dotted
from serving.claims.schemas import Address, ClaimCreate

ICD10CM_URI = "http://hl7.org/fhir/sid/icd-10-cm"
CPT_URI = "http://www.ama-assn.org/go/cpt"
HCPCS_URI = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NPI_URI = "http://hl7.org/fhir/sid/us-npi"
TIN_URI = "urn:oid:2.16.840.1.113883.4.4"
POS_URI = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
SYSTEM_URI = {"CPT": CPT_URI, "HCPCS": HCPCS_URI}
_GENDER = {"M": "male", "F": "female", "U": "unknown"}
_CENT = Decimal("0.01")


def _money(value: Decimal) -> dict[str, Any]:
    return {"value": float(value.quantize(_CENT, rounding=ROUND_HALF_UP)), "currency": "USD"}


def _address(addr: Address) -> dict[str, Any]:
    lines = [addr.line1, *([addr.line2] if addr.line2 else [])]
    return {
        "line": lines,
        "city": addr.city,
        "state": addr.state,
        "postalCode": addr.postal_code,
        "country": "US",
    }


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding]}


def render_fhir_claim(
    claim: ClaimCreate, *, claim_id: str, patient_control_number: str, created: dt.datetime
) -> dict[str, Any]:
    """FHIR R4 Claim JSON for an explicit, edit-clean claim."""
    diagnoses = claim.diagnoses or []
    lines = claim.lines or []
    pat, sub, payer, bp = claim.patient, claim.subscriber, claim.payer, claim.billing_provider
    contained: list[dict[str, Any]] = [
        {
            "resourceType": "Patient",
            "id": "patient",
            "name": [{"family": pat.last_name, "given": [pat.first_name]}],
            "gender": _GENDER[pat.sex],
            "birthDate": pat.birth_date.isoformat(),
            "address": [_address(pat.address)],
        },
        {
            "resourceType": "Organization",
            "id": "billing-provider",
            "identifier": [
                {"system": NPI_URI, "value": bp.npi},
                {"system": TIN_URI, "value": bp.tax_id},
            ],
            "name": bp.organization_name,
            "telecom": [{"system": "phone", "value": bp.phone}],
            "address": [_address(bp.address)],
        },
        {
            "resourceType": "Organization",
            "id": "payer",
            "identifier": [{"value": payer.payer_id}],
            "name": payer.name,
        },
        {
            "resourceType": "Coverage",
            "id": "coverage",
            "status": "active",
            "subscriberId": sub.member_id,
            "beneficiary": {"reference": "#patient"},
            "relationship": _coding(
                "http://terminology.hl7.org/CodeSystem/subscriber-relationship", pat.relationship
            ),
            "payor": [{"reference": "#payer"}],
            **(
                {
                    "class": [
                        {
                            "type": _coding(
                                "http://terminology.hl7.org/CodeSystem/coverage-class", "group"
                            ),
                            "value": sub.group_number,
                        }
                    ]
                }
                if sub.group_number
                else {}
            ),
        },
    ]
    care_team: list[dict[str, Any]] = []
    rp = claim.rendering_provider
    if rp is not None:
        contained.append(
            {
                "resourceType": "Practitioner",
                "id": "rendering-provider",
                "identifier": [{"system": NPI_URI, "value": rp.npi}],
                "name": [{"family": rp.last_name, "given": [rp.first_name]}],
            }
        )
        care_team.append(
            {
                "sequence": 1,
                "provider": {"reference": "#rendering-provider"},
                "role": _coding(
                    "http://terminology.hl7.org/CodeSystem/claimcareteamrole", "primary"
                ),
            }
        )
    dx = [
        {
            "sequence": i,
            "diagnosisCodeableConcept": _coding(ICD10CM_URI, icd_dotted(d.code)),
            **(
                {
                    "type": [
                        _coding(
                            "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "principal"
                        )
                    ]
                }
                if i == 1
                else {}
            ),
        }
        for i, d in enumerate(diagnoses, start=1)
    ]
    items = []
    for n, ln in enumerate(lines, start=1):
        unit_price = (ln.charge / ln.units).quantize(_CENT, rounding=ROUND_HALF_UP)
        item: dict[str, Any] = {
            "sequence": n,
            "diagnosisSequence": list(ln.diagnosis_pointers),
            "productOrService": _coding(SYSTEM_URI[ln.system], ln.code),
            "servicedDate": ln.date_of_service.isoformat(),
            "locationCodeableConcept": _coding(
                POS_URI, ln.place_of_service or claim.place_of_service
            ),
            "quantity": {"value": float(ln.units)},
            "unitPrice": _money(unit_price),
            "net": _money(ln.charge),
        }
        if ln.modifiers:
            item["modifier"] = [_coding(SYSTEM_URI[ln.system], m) for m in ln.modifiers]
        if care_team:
            item["careTeamSequence"] = [1]
        items.append(item)
    total = sum((ln.charge for ln in lines), Decimal(0))
    resource: dict[str, Any] = {
        "resourceType": "Claim",
        "id": claim_id,
        "contained": contained,
        "identifier": [
            {"system": "urn:chartcoder:patient-control-number", "value": patient_control_number}
        ],
        "status": "active",
        "type": _coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
        "use": "claim",
        "patient": {"reference": "#patient"},
        "billablePeriod": {
            "start": min(ln.date_of_service for ln in lines).isoformat(),
            "end": max(ln.date_of_service for ln in lines).isoformat(),
        },
        "created": created.isoformat(),
        "provider": {"reference": "#billing-provider"},
        "priority": _coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "#coverage"}}],
        "diagnosis": dx,
        "item": items,
        "total": _money(total),
    }
    if care_team:
        resource["careTeam"] = care_team
    return resource


def validate_fhir_claim(resource: dict[str, Any]) -> None:
    """Raise `pydantic.ValidationError` unless `resource` is a valid R4(B) Claim."""
    from fhir.resources.R4B.claim import Claim

    Claim.model_validate(resource)
