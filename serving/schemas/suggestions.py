"""Schemas of `/v1/suggestions`."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from serving.schemas.common import PlainText, SpanPublic, System
from serving.schemas.reviews import ReviewPublic

EXAMPLE_NOTE = (
    "Chief complaint: follow-up of type 2 diabetes.\n"
    "Assessment: Type 2 diabetes mellitus without complications, well controlled on metformin. "
    "Essential hypertension. Denies chest pain."
)


class NoteMetaCreate(BaseModel):
    """Optional encounter metadata."""

    model_config = ConfigDict(extra="forbid")

    setting: Literal["outpatient", "inpatient", "ED"] | None = None
    specialty: PlainText | None = Field(default=None, max_length=100)
    age: StrictInt | None = Field(default=None, ge=0, le=130)
    sex: Literal["F", "M", "U"] | None = None
    date_of_service: dt.date | None = None
    note_type: PlainText | None = Field(default=None, max_length=100)


class SuggestionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "text": EXAMPLE_NOTE,
                    "meta": {"setting": "outpatient", "age": 58, "sex": "F"},
                    "systems": ["ICD-10-CM", "CPT"],
                    "top_k": 10,
                }
            ]
        },
    )

    text: StrictStr = Field(
        description="The note, exactly as written; evidence offsets point into this string."
    )
    meta: NoteMetaCreate | None = None
    systems: list[System] | None = Field(
        default=None, min_length=1, description="Code systems to suggest; default all."
    )
    top_k: StrictInt = Field(
        default=30, ge=1, le=200, description="Most codes returned per code system."
    )


class SuggestedCodePublic(BaseModel):
    system: str
    code: str
    description: str
    score: float = Field(description="Calibrated probability that a coder would assign it.")
    rank: int
    accepted: bool = Field(description="The model's own decision (score over its threshold).")
    evidence: list[SpanPublic]


class SuggestionSetPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "5f0c3f7e-1f7a-4a53-9a55-2a9d8a3c2b10",
                    "note_id": "0b7a2d1c-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
                    "model_version": "chartcoder-v1-20261126",
                    "systems": ["ICD-10-CM", "CPT"],
                    "top_k": 10,
                    "codes": [
                        {
                            "system": "ICD-10-CM",
                            "code": "E11.9",
                            "description": "Type 2 diabetes mellitus without complications",
                            "score": 0.93,
                            "rank": 1,
                            "accepted": True,
                            "evidence": [
                                {
                                    "start": 106,
                                    "end": 153,
                                    "text": "Type 2 diabetes mellitus without complications",
                                }
                            ],
                        }
                    ],
                    "latency_ms": 41.7,
                    "created_by": "coder-ana",
                    "created_at": "2026-11-26T23:40:00Z",
                    "review": None,
                }
            ]
        }
    )

    id: str = Field(description="Suggestion set id.")
    note_id: str
    model_version: str
    systems: list[str]
    top_k: int
    codes: list[SuggestedCodePublic]
    latency_ms: float = Field(description="Model time for this note, in milliseconds.")
    created_by: str
    created_at: dt.datetime
    review: ReviewPublic | None = Field(
        default=None, description="The latest review revision, if the set was reviewed."
    )
