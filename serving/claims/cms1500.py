"""Render a claim as a CMS-1500 (02/12) box map: `{"1": ..., "1a": ..., ..., "33a": ...}`.

Box 21 holds diagnoses A-L (ICD indicator 0 = ICD-10-CM, codes without the decimal point);
box 24 holds the service lines, each with A (dates), B (place of service), C (EMG), D (CPT/HCPCS
and modifiers), E (diagnosis pointer letters), F (charges), G (units), H (EPSDT), I (ID
qualifier) and J (rendering provider NPI). Boxes the request has nothing for are empty strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from serving.claims.catalog import icd_plain
from serving.claims.schemas import Address, ClaimCreate

LETTERS = "ABCDEFGHIJKL"
_PLAN_TYPE = {
    "MB": "Medicare",
    "MA": "Medicare",
    "MC": "Medicaid",
    "CH": "TRICARE",
    "VA": "CHAMPVA",
    "CI": "Group Health Plan",
    "BL": "Group Health Plan",
    "HM": "Group Health Plan",
    "12": "Group Health Plan",
    "FI": "FECA Black Lung",
}
_RELATIONSHIP = {"self": "Self", "spouse": "Spouse", "child": "Child", "other": "Other"}


def _addr(addr: Address | None) -> dict[str, str]:
    if addr is None:
        return {"street": "", "city": "", "state": "", "zip": ""}
    street = addr.line1 + (f" {addr.line2}" if addr.line2 else "")
    return {"street": street, "city": addr.city, "state": addr.state, "zip": addr.postal_code}


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def render_cms1500(claim: ClaimCreate, *, patient_control_number: str) -> dict[str, Any]:
    diagnoses = claim.diagnoses or []
    lines = claim.lines or []
    pat, sub, payer, bp = claim.patient, claim.subscriber, claim.payer, claim.billing_provider
    rp = claim.rendering_provider
    is_self = pat.relationship == "self"
    ins_last = pat.last_name if is_self else (sub.last_name or "")
    ins_first = pat.first_name if is_self else (sub.first_name or "")
    ins_dob = pat.birth_date if is_self else sub.birth_date
    ins_sex = pat.sex if is_self else (sub.sex or "")
    total = sum((ln.charge for ln in lines), Decimal(0))
    box24 = [
        {
            "A": {
                "from": ln.date_of_service.strftime("%m/%d/%Y"),
                "to": ln.date_of_service.strftime("%m/%d/%Y"),
            },
            "B": ln.place_of_service or claim.place_of_service,
            "C": "",
            "D": {"code": ln.code, "modifiers": list(ln.modifiers)},
            "E": "".join(LETTERS[p - 1] for p in ln.diagnosis_pointers),
            "F": _amount(ln.charge),
            "G": format(ln.units.normalize(), "f"),
            "H": "",
            "I": "NPI",
            "J": rp.npi if rp is not None else bp.npi,
        }
        for ln in lines
    ]
    return {
        "1": _PLAN_TYPE.get(payer.claim_filing_indicator, "Other"),
        "1a": sub.member_id,
        "2": f"{pat.last_name}, {pat.first_name}",
        "3": {"birth_date": pat.birth_date.strftime("%m/%d/%Y"), "sex": pat.sex},
        "4": f"{ins_last}, {ins_first}" if ins_last else "",
        "5": _addr(pat.address),
        "6": _RELATIONSHIP[pat.relationship],
        "7": _addr(pat.address if is_self else sub.address),
        "8": "",
        "9": "",
        "9a": "",
        "9d": "",
        "10": {"a": "NO", "b": "NO", "c": "NO", "d": ""},
        "11": sub.group_number or "",
        "11a": {"birth_date": ins_dob.strftime("%m/%d/%Y") if ins_dob else "", "sex": ins_sex},
        "11b": "",
        "11c": payer.name,
        "11d": "NO",
        "12": "SIGNATURE ON FILE",
        "13": "SIGNATURE ON FILE",
        "14": "",
        "15": "",
        "16": "",
        "17": "",
        "17b": "",
        "18": "",
        "19": "",
        "20": "NO",
        "21": {
            "icd_indicator": "0",
            **{LETTERS[i]: icd_plain(d.code) for i, d in enumerate(diagnoses[: len(LETTERS)])},
        },
        "22": "",
        "23": "",
        "24": box24,
        "25": {"type": "EIN", "number": bp.tax_id},
        "26": patient_control_number,
        "27": "YES",
        "28": _amount(total),
        "29": "",
        "30": "",
        "31": f"{rp.first_name} {rp.last_name}" if rp is not None else "SIGNATURE ON FILE",
        "32": {"name": bp.organization_name, **_addr(bp.address)},
        "32a": bp.npi,
        "33": {"name": bp.organization_name, **_addr(bp.address), "phone": bp.phone},
        "33a": bp.npi,
    }
