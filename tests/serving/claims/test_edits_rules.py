"""One test per claim edit: it fires on a claim that breaks it and stays silent otherwise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from serving.claims.schemas import ClaimEdit
from tests.serving.claims.conftest import codes, line, with_lines

EditsFor = Callable[[dict[str, Any]], list[ClaimEdit]]


def test_valid_example_fires_no_edit(request_dict: dict[str, Any], edits_for: EditsFor) -> None:
    assert edits_for(request_dict) == []


def _dx(req: dict[str, Any], *codes_: str) -> dict[str, Any]:
    req["diagnoses"] = [{"code": c} for c in codes_]
    return req


# Each case: (id, mutate the valid example, the edit code expected, the field it names).
FIRING: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str, str]] = [
    ("no diagnosis", lambda r: _dx(r), "dx.missing", "diagnoses"),
    ("no line", lambda r: with_lines(r), "line.missing", "lines"),
    ("unknown icd", lambda r: _dx(r, "E11.999", "I10"), "icd.invalid", "diagnoses[0].code"),
    ("header icd", lambda r: _dx(r, "E11", "I10"), "icd.not_billable", "diagnoses[0].code"),
    ("excludes1", lambda r: _dx(r, "E11.9", "E10.9"), "icd.excludes1", "diagnoses[1].code"),
    (
        "manifestation first",
        lambda r: _dx(r, "F02.80", "G30.9"),
        "icd.manifestation_first",
        "diagnoses[0].code",
    ),
    ("male-only code", lambda r: _dx(r, "N40.0", "I10"), "icd.sex_conflict", "diagnoses[0].code"),
    (
        "child-only code",
        lambda r: _dx(r, "Z00.129", "I10"),
        "icd.age_conflict",
        "diagnoses[0].code",
    ),
    (
        "unknown cpt",
        lambda r: with_lines(r, line("12345")),
        "proc.invalid",
        "lines[0].code",
    ),
    (
        "retired cpt",
        lambda r: with_lines(r, line("99201")),
        "proc.invalid_on_date",
        "lines[0].code",
    ),
    (
        "no pointer",
        lambda r: with_lines(r, line("99214", diagnosis_pointers=[])),
        "pointer.missing",
        "lines[0].diagnosis_pointers",
    ),
    (
        "pointer past the diagnoses",
        lambda r: with_lines(r, line("99214", diagnosis_pointers=[1, 3])),
        "pointer.invalid",
        "lines[0].diagnosis_pointers",
    ),
    (
        "repeated pointer",
        lambda r: with_lines(r, line("99214", diagnosis_pointers=[1, 1])),
        "pointer.duplicate",
        "lines[0].diagnosis_pointers",
    ),
    (
        "five pointers",
        lambda r: with_lines(
            _dx(r, "E11.9", "I10", "E78.5", "K21.9", "F41.9"),
            line("99214", diagnosis_pointers=[1, 2, 3, 4, 5]),
        ),
        "pointer.too_many",
        "lines[0].diagnosis_pointers",
    ),
    (
        "E/M with minor procedure, no 25",
        lambda r: with_lines(r, line("99214"), line("20610")),
        "mod.25_required",
        "lines[0].modifiers",
    ),
    (
        "E/M with injection (NCCI pair), no 25",
        lambda r: with_lines(r, line("99213"), line("96372")),
        "mod.25_required",
        "lines[0].modifiers",
    ),
    (
        "ECG components (indicator 0)",
        lambda r: with_lines(r, line("93000"), line("93010")),
        "ncci.ptp",
        "lines[1].code",
    ),
    (
        "panel component without modifier",
        lambda r: with_lines(r, line("80053"), line("82947")),
        "ncci.ptp",
        "lines[1].code",
    ),
    (
        "59 with no NCCI pair",
        lambda r: with_lines(r, line("99214"), line("36415", modifiers=["59"])),
        "mod.bypass_not_allowed",
        "lines[1].modifiers",
    ),
    (
        "XS on an indicator-0 pair",
        lambda r: with_lines(r, line("93000"), line("93010", modifiers=["XS"])),
        "mod.bypass_not_allowed",
        "lines[1].modifiers",
    ),
    (
        "zero units",
        lambda r: with_lines(r, line("99214", units=0)),
        "units.not_positive",
        "lines[0].units",
    ),
    (
        "E/M above MUE (per day)",
        lambda r: with_lines(r, line("99214", units=2)),
        "units.mue",
        "lines",
    ),
    (
        "venipuncture above MUE across lines",
        lambda r: with_lines(r, line("36415", units=2), line("36415", units=1)),
        "units.mue",
        "lines",
    ),
    (
        "arthrocentesis above MUE (per line)",
        lambda r: with_lines(r, line("20610", units=3)),
        "units.mue",
        "lines[0].units",
    ),
    (
        "billing NPI check digit",
        lambda r: r | {"billing_provider": r["billing_provider"] | {"npi": "1234567890"}},
        "npi.invalid",
        "billing_provider.npi",
    ),
    (
        "rendering NPI length",
        lambda r: r | {"rendering_provider": r["rendering_provider"] | {"npi": "123456789"}},
        "npi.invalid",
        "rendering_provider.npi",
    ),
    (
        "claimed total",
        lambda r: r | {"total_charge": "999.00"},
        "money.total_mismatch",
        "total_charge",
    ),
    (
        "place of service",
        lambda r: r | {"place_of_service": "00"},
        "pos.invalid",
        "place_of_service",
    ),
    (
        "name with no X12 characters",
        lambda r: r | {"patient": r["patient"] | {"last_name": "李"}},
        "text.unprintable",
        "patient.last_name",
    ),
    (
        "state code",
        lambda r: (
            r | {"patient": r["patient"] | {"address": r["patient"]["address"] | {"state": "XX"}}}
        ),
        "address.state_invalid",
        "patient.address.state",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "code", "field"), [c[1:] for c in FIRING], ids=[c[0] for c in FIRING]
)
def test_edit_fires(
    request_dict: dict[str, Any], edits_for: EditsFor, mutate: Any, code: str, field: str
) -> None:
    edits = edits_for(mutate(request_dict))
    hits = [e for e in edits if e.code == code]
    assert hits, f"{code} did not fire; got {codes(edits)}"
    assert hits[0].field == field
    assert hits[0].severity == "error"
    assert hits[0].rule and hits[0].source and hits[0].message


def test_thirteen_diagnoses_is_too_many(request_dict: dict[str, Any], edits_for: EditsFor) -> None:
    dx = [
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
        "N39.0",
    ]
    assert codes(edits_for(_dx(request_dict, *dx))) == ["dx.too_many"]
    assert edits_for(_dx(request_dict, *dx[:12])) == []


def test_too_many_lines(request_dict: dict[str, Any], edits_for: EditsFor) -> None:
    lines = [line("36415", date_of_service=f"2025-03-{d:02d}") for d in range(1, 29)]
    lines += [line("36415", date_of_service=f"2025-04-{d:02d}") for d in range(1, 24)]
    assert codes(edits_for(with_lines(request_dict, *lines))) == ["line.too_many"]
    assert edits_for(with_lines(request_dict, *lines[:50])) == []


# Same rules, claims that must NOT trigger them.
SILENT: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("manifestation second", lambda r: _dx(r, "G30.9", "F02.80")),
    (
        "male-only code, male patient",
        lambda r: _dx(r, "N40.0", "I10") | {"patient": r["patient"] | {"sex": "M"}},
    ),
    (
        "child-only code, child patient",
        lambda r: (
            _dx(r, "Z00.129", "I10") | {"patient": r["patient"] | {"birth_date": "2015-06-01"}}
        ),
    ),
    (
        "retired cpt before its end date",
        lambda r: with_lines(r, line("99201", date_of_service="2020-06-01")),
    ),
    (
        "four pointers",
        lambda r: with_lines(
            _dx(r, "E11.9", "I10", "E78.5", "K21.9"), line("99214", diagnosis_pointers=[1, 2, 3, 4])
        ),
    ),
    (
        "E/M with minor procedure and 25",
        lambda r: with_lines(r, line("99214", modifiers=["25"]), line("20610")),
    ),
    (
        "E/M with injection and 25",
        lambda r: with_lines(r, line("99213", modifiers=["25"]), line("96372")),
    ),
    ("E/M with venipuncture (no NCCI pair)", lambda r: with_lines(r, line("99214"), line("36415"))),
    (
        "minor procedure on another day",
        lambda r: with_lines(r, line("99214"), line("20610", date_of_service="2025-03-15")),
    ),
    (
        "panel component with 59",
        lambda r: with_lines(r, line("80053"), line("82947", modifiers=["59"])),
    ),
    ("panel with TSH (not a component)", lambda r: with_lines(r, line("80053"), line("84443"))),
    ("venipuncture at the MUE", lambda r: with_lines(r, line("36415", units=2))),
    ("arthrocentesis at the MUE", lambda r: with_lines(r, line("20610", units=2))),
    ("ECG complete alone", lambda r: with_lines(r, line("93000"))),
    ("accents and apostrophes", lambda r: r | {"patient": r["patient"] | {"last_name": "O'Brién"}}),
    ("no claimed total", lambda r: {k: v for k, v in r.items() if k != "total_charge"}),
    ("no rendering provider", lambda r: {k: v for k, v in r.items() if k != "rendering_provider"}),
]


@pytest.mark.parametrize("mutate", [c[1] for c in SILENT], ids=[c[0] for c in SILENT])
def test_edit_stays_silent(request_dict: dict[str, Any], edits_for: EditsFor, mutate: Any) -> None:
    assert edits_for(mutate(request_dict)) == []


def test_zero_charge_is_a_warning_not_a_rejection(
    request_dict: dict[str, Any], edits_for: EditsFor
) -> None:
    edits = edits_for(with_lines(request_dict, line("99214"), line("36415", charge="0")))
    assert [(e.code, e.severity) for e in edits] == [("money.zero_charge", "warning")]


def test_edits_name_their_source_tables(request_dict: dict[str, Any], edits_for: EditsFor) -> None:
    edits = edits_for(with_lines(request_dict, line("80053"), line("82947")))
    assert "NCCI PTP practitioner 2025Q1" in edits[0].source
