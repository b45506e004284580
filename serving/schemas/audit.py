"""Schemas of `/v1/audit` (QA sampling, verdicts and agreement statistics)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictStr

from serving.schemas.common import CodeRef, System

Strategy = Literal["low_confidence", "random", "stratified"]


class AuditCodePublic(BaseModel):
    system: str
    code: str
    source: str = Field(description="`model`, `replacement` or `added` (from the review).")
    score: float = Field(
        description="The model's score for this exact code in the suggestion set; 0.0 when the "
        "model did not suggest it (a code the coder added or replaced in)."
    )


class VerdictCodePublic(BaseModel):
    system: str
    code: str
    verdict: Literal["agree", "disagree"]


class VerdictPublic(BaseModel):
    id: int
    audit_case_id: int
    agree: bool = Field(
        description="Case-level agreement: every code agreed and no corrected codes."
    )
    codes: list[VerdictCodePublic]
    corrected_codes: list[CodeRef]
    comment: str | None
    created_by: str
    created_at: dt.datetime


class AuditCasePublic(BaseModel):
    id: int
    suggestion_set_id: str
    review_id: int
    revision: int = Field(description="The review revision that was sampled (the latest then).")
    reviewer: str = Field(description="The coder who made that review.")
    strategy: Strategy
    seed: int | None
    band: str = Field(description="Confidence band of the case (its lowest final-code score).")
    score_min: float
    score_mean: float
    final_codes: list[AuditCodePublic]
    created_by: str
    created_at: dt.datetime
    verdicts: list[VerdictPublic] = Field(description="Every verdict on this case, oldest first.")


class BandCountPublic(BaseModel):
    band: str
    population: int = Field(description="Eligible cases in this band before sampling.")
    sampled: int


class AuditSamplePublic(BaseModel):
    strategy: Strategy
    seed: int = Field(
        description="The seed used (generated when none was sent): resend it, on "
        "the same data, to reproduce the sample."
    )
    requested: int
    population: int = Field(description="Reviewed, not yet audited cases that were eligible.")
    bands: list[BandCountPublic] = Field(description="Per confidence band: eligible and sampled.")
    cases: list[AuditCasePublic]


class CodeVerdictCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: System
    code: StrictStr = Field(min_length=1, max_length=20)
    verdict: Literal["agree", "disagree"]


class VerdictCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "codes": [
                        {"system": "ICD-10-CM", "code": "E11.9", "verdict": "agree"},
                        {"system": "ICD-10-CM", "code": "I10", "verdict": "disagree"},
                    ],
                    "corrected_codes": [{"system": "ICD-10-CM", "code": "I12.9"}],
                    "comment": "Hypertension with CKD is coded I12.9.",
                }
            ]
        },
    )

    codes: list[CodeVerdictCreate] = Field(
        default_factory=list,
        max_length=500,
        description="One verdict per final code of the reviewed case (all of them).",
    )
    corrected_codes: list[CodeRef] = Field(
        default_factory=list,
        max_length=200,
        description="Codes the auditor says should have been coded (validated against the "
        "catalog).",
    )
    comment: StrictStr | None = Field(default=None, max_length=4000)


class RatePublic(BaseModel):
    n: int
    agreed: int
    rate: float | None = Field(description="agreed / n; null when n is 0.")


class GroupStatsPublic(BaseModel):
    key: str
    cases: RatePublic | None = Field(description="Case-level agreement (null for code systems).")
    codes: RatePublic


_RATE: dict[str, JsonValue] = {"n": 40, "agreed": 34, "rate": 0.85}


class AuditStatsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "cases_sampled": 25,
                    "cases_with_verdict": 20,
                    "overall": {
                        "key": "overall",
                        "cases": {"n": 20, "agreed": 15, "rate": 0.75},
                        "codes": _RATE,
                    },
                    "by_coder": [
                        {
                            "key": "coder-ana",
                            "cases": {"n": 20, "agreed": 15, "rate": 0.75},
                            "codes": _RATE,
                        }
                    ],
                    "by_system": [{"key": "ICD-10-CM", "cases": None, "codes": _RATE}],
                    "by_band": [
                        {
                            "key": "<0.5",
                            "cases": {"n": 20, "agreed": 15, "rate": 0.75},
                            "codes": _RATE,
                        }
                    ],
                }
            ]
        }
    )

    cases_sampled: int
    cases_with_verdict: int = Field(description="Cases counted below (their latest verdict).")
    overall: GroupStatsPublic
    by_coder: list[GroupStatsPublic] = Field(description="Keyed by the reviewing coder.")
    by_system: list[GroupStatsPublic] = Field(description="Code-level, keyed by code system.")
    by_band: list[GroupStatsPublic] = Field(description="Keyed by the case's confidence band.")
