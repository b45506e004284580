"""Claim request and response models (the JSON contract of `POST /v1/claims` and the CLI).

A request names the parties (patient, subscriber, payer, billing and rendering provider), the
place of service, the diagnoses (ICD-10-CM, first-listed first, under `diagnoses`) and the service
lines (CPT/HCPCS under `lines`: date of service, charge, units, modifiers, diagnosis pointers).
With `suggestion_set_id` the diagnoses and services come from the latest review of that
suggestion set instead, and `fees` prices the services.

Presence and shape are checked here (missing fields become one 422 naming every field);
coding rules (validity, NCCI, MUE, pointers, NPI check digit, totals) are edits in `edits.py`,
so that a claim that breaks them is stored as `rejected` with the edits, not refused.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

Severity = Literal["error", "warning"]
ServiceSystem = Literal["CPT", "HCPCS"]
Sex = Literal["M", "F", "U"]
Relationship = Literal["self", "spouse", "child", "other"]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10)]
Modifier = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[0-9A-Z]{2}$")
]
Money = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Address(_Strict):
    line1: Text
    line2: Text | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)]
    state: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}$")]
    postal_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}([0-9]{4})?$")]


class Person(_Strict):
    last_name: Text
    first_name: Text
    birth_date: dt.date
    sex: Sex
    address: Address


class Patient(Person):
    """The person who received the services."""

    relationship: Relationship = Field(
        default="self", description="Patient's relationship to the subscriber."
    )


class Subscriber(_Strict):
    """The insured. When the patient is the subscriber, only `member_id` is needed."""

    member_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)]
    group_number: Text | None = None
    last_name: Text | None = None
    first_name: Text | None = None
    birth_date: dt.date | None = None
    sex: Sex | None = None
    address: Address | None = None


class Payer(_Strict):
    name: Text
    payer_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=80)]
    claim_filing_indicator: Literal[
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "AM",
        "BL",
        "CH",
        "CI",
        "DS",
        "FI",
        "HM",
        "LM",
        "MA",
        "MB",
        "MC",
        "OF",
        "TV",
        "VA",
        "WC",
        "ZZ",
    ] = Field(
        default="CI", description="X12 SBR09: CI commercial, MB Medicare Part B, MC Medicaid."
    )


class BillingProvider(_Strict):
    npi: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=15)]
    organization_name: Text
    tax_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] = Field(
        description="Employer identification number, 9 digits without a dash."
    )
    taxonomy: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{9}X$")] | None = None
    address: Address
    contact_name: Text | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9]{10}$")] = Field(
        description="Billing contact telephone, 10 digits (837P 1000A PER04)."
    )


class RenderingProvider(_Strict):
    npi: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=15)]
    last_name: Text
    first_name: Text
    taxonomy: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{9}X$")] | None = None


class Diagnosis(_Strict):
    code: Code = Field(description="ICD-10-CM, with or without the dot.")


class ServiceLine(_Strict):
    system: ServiceSystem = "CPT"
    code: Code
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    charge: Money
    units: Decimal = Field(default=Decimal(1), max_digits=8, decimal_places=3)
    diagnosis_pointers: list[int] = Field(
        default_factory=list, description="1-based positions in `diagnoses`, 1 to 4 per line."
    )
    date_of_service: dt.date
    place_of_service: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] | None = None


class ClaimCreate(_Strict):
    """What a caller sends. Either explicit `diagnoses` + `lines` or a `suggestion_set_id`."""

    patient_control_number: (
        Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,20}$")] | None
    ) = Field(default=None, description="CLM01; generated when absent.")
    suggestion_set_id: str | None = None
    patient: Patient
    subscriber: Subscriber
    payer: Payer
    billing_provider: BillingProvider
    rendering_provider: RenderingProvider | None = None
    place_of_service: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
    diagnoses: list[Diagnosis] | None = None
    lines: list[ServiceLine] | None = None
    date_of_service: dt.date | None = Field(
        default=None, description="Date for lines built from a suggestion set."
    )
    fees: dict[str, Money] | None = Field(
        default=None, description="Charge per service code for lines built from a suggestion set."
    )
    total_charge: Money | None = Field(
        default=None, description="Claimed total; checked against the sum of line charges."
    )

    @model_validator(mode="wrap")
    @classmethod
    def _every_missing_field(
        cls, data: Any, handler: ModelWrapValidatorHandler[ClaimCreate]
    ) -> ClaimCreate:
        """Report every missing field at once, including the mode-dependent ones.

        Without `suggestion_set_id`, `diagnoses` and `lines` are required; pydantic alone would
        only check them after every other field passed, so one 422 could not name them all.
        """
        extra: list[InitErrorDetails] = []
        if isinstance(data, dict):
            extra = [{"type": "missing", "loc": loc, "input": data} for loc in _mode_missing(data)]
        try:
            claim = handler(data)
        except ValidationError as exc:
            errors: list[InitErrorDetails] = [_init_details(err) for err in exc.errors()]
            raise ValidationError.from_exception_data(cls.__name__, errors + extra) from None
        if extra:
            raise ValidationError.from_exception_data(cls.__name__, extra)
        return claim


def _mode_missing(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Fields required only in some modes: codes without a suggestion set; the subscriber's
    name when the patient is not the subscriber (837P 2010BA NM103/NM104)."""
    out: list[tuple[str, ...]] = []
    if data.get("suggestion_set_id") is None:
        out += [(key,) for key in ("diagnoses", "lines") if data.get(key) is None]
    patient, subscriber = data.get("patient"), data.get("subscriber")
    if (
        isinstance(patient, dict)
        and patient.get("relationship", "self") != "self"
        and isinstance(subscriber, dict)
    ):
        out += [
            ("subscriber", key)
            for key in ("last_name", "first_name")
            if subscriber.get(key) is None
        ]
    return out


def _init_details(err: Any) -> InitErrorDetails:
    details: InitErrorDetails = {"type": err["type"], "loc": err["loc"], "input": err["input"]}
    if "ctx" in err:
        details["ctx"] = err["ctx"]
    return details


class ClaimEdit(_Strict):
    """One edit that fired: stable `code`, `severity`, human message, rule id and its source."""

    code: str
    severity: Severity
    message: str
    rule: str
    source: str
    field: str | None = None


class ClaimPublic(BaseModel):
    id: str
    status: Literal["ready", "rejected"]
    suggestion_set_id: str | None
    edits: list[ClaimEdit]
    x12: str | None
    fhir: dict[str, Any] | None
    cms1500: dict[str, Any] | None
    request: dict[str, Any]
    created_by: str
    created_at: dt.datetime
