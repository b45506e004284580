"""Schemas of `/v1/suggestions/{id}/review`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from serving.schemas.common import CodeRef, PlainText, SpanCreate, SpanPublic, System

RejectReason = Literal[
    "not_documented", "negated", "history_only", "wrong_specificity", "wrong_code", "other"
]
REJECT_REASONS: tuple[str, ...] = (
    "not_documented",
    "negated",
    "history_only",
    "wrong_specificity",
    "wrong_code",
    "other",
)


class DecisionCreate(BaseModel):
    """The coder's decision on one suggested code."""

    model_config = ConfigDict(extra="forbid")

    system: System
    code: StrictStr = Field(min_length=1, max_length=20)
    action: Literal["accept", "reject", "replace"]
    reason: RejectReason | None = Field(
        default=None, description="Required for `reject`; optional for `replace`."
    )
    comment: PlainText | None = Field(
        default=None, max_length=2000, description="Required when reason is `other`."
    )
    replacement: CodeRef | None = Field(default=None, description="Required for `replace`.")


class AddedCodeCreate(BaseModel):
    """A code the model missed, with the note spans that support it."""

    model_config = ConfigDict(extra="forbid")

    system: System
    code: StrictStr = Field(min_length=1, max_length=20)
    evidence: list[SpanCreate] = Field(default_factory=list, max_length=50)
    comment: PlainText | None = Field(default=None, max_length=2000)


class ReviewCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "decisions": [
                        {"system": "ICD-10-CM", "code": "E11.9", "action": "accept"},
                        {
                            "system": "ICD-10-CM",
                            "code": "R07.9",
                            "action": "reject",
                            "reason": "negated",
                        },
                        {
                            "system": "CPT",
                            "code": "99213",
                            "action": "replace",
                            "reason": "wrong_specificity",
                            "replacement": {"system": "CPT", "code": "99214"},
                        },
                    ],
                    "added": [
                        {
                            "system": "ICD-10-CM",
                            "code": "I10",
                            "evidence": [{"start": 154, "end": 176}],
                        }
                    ],
                }
            ]
        },
    )

    decisions: list[DecisionCreate] = Field(default_factory=list, max_length=500)
    added: list[AddedCodeCreate] = Field(default_factory=list, max_length=200)


class FinalCodePublic(BaseModel):
    system: str
    code: str
    description: str
    source: Literal["model", "replacement", "added"] = Field(
        description="`model`: a suggested code kept; `replacement`: the coder's replacement; "
        "`added`: a code the coder added."
    )
    model_score: float | None = Field(
        description="The model's score for the suggested code this came from (None if added)."
    )
    evidence: list[SpanPublic]


class ReviewPublic(BaseModel):
    id: int
    suggestion_set_id: str
    revision: int = Field(description="1 for the first review; each re-review adds one.")
    final_codes: list[FinalCodePublic]
    created_by: str
    created_at: dt.datetime
