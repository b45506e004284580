"""Renderings of valid claims pass validators this project did not write (pyx12, fhir.resources);
rejected claims are never rendered."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.claim import Claim

from serving.claims.build import BuiltClaim
from serving.claims.x12check import pyx12_errors
from tests.serving.claims.conftest import line, with_lines

Build = Callable[..., BuiltClaim]


def _dependent_patient(req: dict[str, Any]) -> dict[str, Any]:
    req["patient"] = req["patient"] | {
        "relationship": "child",
        "first_name": "Amy",
        "birth_date": "2012-09-30",
    }
    req["subscriber"] = req["subscriber"] | {
        "last_name": "Doe",
        "first_name": "John",
        "birth_date": "1966-01-02",
        "sex": "M",
        "address": req["patient"]["address"],
    }
    return req


def _busy(req: dict[str, Any]) -> dict[str, Any]:
    req["diagnoses"] = [
        {"code": c}
        for c in [
            "I10",
            "E11.9",
            "E78.5",
            "J45.909",
            "K21.9",
            "M54.50",
            "F41.9",
            "G47.00",
            "R51.9",
            "Z79.4",
            "H52.4",
            "L70.0",
        ]
    ]
    return with_lines(
        req,
        line("99214", "180.00", modifiers=["25"], diagnosis_pointers=[1, 2, 3, 4]),
        line("20610", "210.50", modifiers=["RT"], diagnosis_pointers=[5]),
        line("80053", "40.00", diagnosis_pointers=[2]),
        line("82947", "10.00", modifiers=["59"], diagnosis_pointers=[2]),
        line("J1100", "8.25", units="2", diagnosis_pointers=[12]),
        line(
            "36415",
            "12.00",
            date_of_service="2025-03-16",
            place_of_service="81",
            diagnosis_pointers=[2],
        ),
    )


VALID: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("example", lambda r: r),
    ("patient is the subscriber's child", _dependent_patient),
    ("12 diagnoses, modifiers, HCPCS, fractional units, two dates", _busy),
    (
        "no rendering provider, no taxonomy",
        lambda r: {
            **{k: v for k, v in r.items() if k != "rendering_provider"},
            "billing_provider": {k: v for k, v in r["billing_provider"].items() if k != "taxonomy"},
        },
    ),
]


@pytest.mark.parametrize("mutate", [v[1] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_claim_renders_and_passes_pyx12_and_fhir(
    request_dict: dict[str, Any], build: Build, mutate: Any
) -> None:
    built = build(mutate(request_dict))
    assert built.status == "ready", built.edits
    assert built.x12 is not None and built.fhir is not None and built.cms1500 is not None
    assert pyx12_errors(built.x12) == []
    claim = Claim.model_validate(built.fhir)
    assert claim.total is not None
    lines = built.claim.lines or []
    assert float(claim.total.value) == pytest.approx(float(sum(ln.charge for ln in lines)))


def test_837p_structure_counts_and_control_numbers(
    request_dict: dict[str, Any], build: Build
) -> None:
    x12 = build(request_dict).x12
    assert x12 is not None
    segments = [s for s in x12.replace("\n", "").split("~") if s]
    ids = [s.split("*")[0] for s in segments]
    assert ids[:4] == ["ISA", "GS", "ST", "BHT"] and ids[-3:] == ["SE", "GE", "IEA"]
    isa = segments[0]
    assert len(isa) == 105 and isa[-1] == ":" and isa[82] == "^"  # fixed-width ISA
    st, se = segments[2].split("*"), segments[-3].split("*")
    assert int(se[1]) == len(segments) - 2 - 2  # ST..SE inclusive
    assert se[2] == st[2]
    assert segments[-1].split("*")[2] == isa.split("*")[13]
    assert segments[1].split("*")[6] == segments[-2].split("*")[2]
    assert "HI*ABK:E119*ABF:I10" in segments
    assert "NM1*82*1*SMITH*ALAN****XX*1245319599" in segments
    assert sum(1 for i in ids if i == "LX") == 3
    assert "CLM*PCN-2025-0001*205***11:B:1*Y*A*Y*Y" in segments


def test_fhir_claim_codes_and_references(request_dict: dict[str, Any], build: Build) -> None:
    fhir = build(request_dict).fhir
    assert fhir is not None
    assert [d["diagnosisCodeableConcept"]["coding"][0] for d in fhir["diagnosis"]] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"},
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"},
    ]
    item = fhir["item"][0]
    assert item["productOrService"]["coding"][0] == {
        "system": "http://www.ama-assn.org/go/cpt",
        "code": "99214",
    }
    assert item["diagnosisSequence"] == [1, 2]
    assert item["net"] == {"value": 165.0, "currency": "USD"}
    contained = {r["id"] for r in fhir["contained"]}
    refs = set(re.findall(r"'reference': '#([a-z-]+)'", str(fhir)))
    assert refs == contained  # every contained resource is referenced, and only those


def test_cms1500_box_map(request_dict: dict[str, Any], build: Build) -> None:
    box = build(request_dict).cms1500
    assert box is not None
    assert set(map(str, range(1, 34))) <= set(box)
    assert box["21"] == {"icd_indicator": "0", "A": "E119", "B": "I10"}
    assert box["24"][0]["E"] == "AB" and box["24"][0]["F"] == "165.00"
    assert box["24"][0]["J"] == "1245319599"
    assert box["28"] == "205.00" and box["33a"] == "1234567893"


def test_rejected_claim_is_never_rendered(request_dict: dict[str, Any], build: Build) -> None:
    request_dict["diagnoses"] = []
    built = build(request_dict)
    assert built.status == "rejected"
    assert [e.code for e in built.edits] == [
        "dx.missing",
        "pointer.invalid",
        "pointer.invalid",
        "pointer.invalid",
        "pointer.invalid",
    ]
    assert built.x12 is None and built.fhir is None and built.cms1500 is None


def test_pyx12_reports_a_broken_837p(request_dict: dict[str, Any], build: Build) -> None:
    """The validator is live: the same file with HI removed is refused."""
    x12 = build(request_dict).x12
    assert x12 is not None
    broken = x12.replace("HI*ABK:E119*ABF:I10~\n", "")
    messages = " ".join(str(e) for e in pyx12_errors(broken))
    assert "Health Care Diagnosis Code" in messages and "SE count" in messages


def test_verify_x12_keeps_a_valid_claim_ready(request_dict: dict[str, Any], build: Build) -> None:
    built = build(request_dict, verify_x12=True)
    assert built.status == "ready" and not built.edits
