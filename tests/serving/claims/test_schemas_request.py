"""The claim request model: every missing field named at once, mode-dependent fields included."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from serving.claims.schemas import ClaimCreate


def _missing(req: dict[str, Any]) -> set[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as info:
        ClaimCreate.model_validate(req)
    return {tuple(e["loc"]) for e in info.value.errors() if e["type"] == "missing"}


def test_every_missing_field_is_named(request_dict: dict[str, Any]) -> None:
    del request_dict["payer"], request_dict["diagnoses"], request_dict["lines"]
    del request_dict["billing_provider"]["phone"]
    assert _missing(request_dict) == {
        ("payer",),
        ("diagnoses",),
        ("lines",),
        ("billing_provider", "phone"),
    }


def test_codes_may_come_from_a_suggestion_set(request_dict: dict[str, Any]) -> None:
    del request_dict["diagnoses"], request_dict["lines"]
    claim = ClaimCreate.model_validate(request_dict | {"suggestion_set_id": "abc"})
    assert claim.diagnoses is None and claim.lines is None


def test_dependent_patient_needs_the_subscriber_name(request_dict: dict[str, Any]) -> None:
    request_dict["patient"]["relationship"] = "child"
    assert _missing(request_dict) == {("subscriber", "last_name"), ("subscriber", "first_name")}
    request_dict["subscriber"] |= {"last_name": "Doe", "first_name": "John"}
    assert ClaimCreate.model_validate(request_dict).subscriber.last_name == "Doe"


def test_example_request_is_complete_and_valid(request_dict: dict[str, Any]) -> None:
    claim = ClaimCreate.model_validate(request_dict)
    assert claim.diagnoses and claim.lines and claim.rendering_provider is not None
