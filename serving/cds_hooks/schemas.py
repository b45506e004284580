"""CDS Hooks 2.0 wire formats: discovery, service request / response, feedback.

Field names follow the specification exactly (camelCase). Responses are serialised without
`null` members (the specification forbids nulls and empty optional members).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator


class CdsServicePublic(BaseModel):
    hook: str
    title: str
    description: str
    id: str
    prefetch: dict[str, str]


class DiscoveryPublic(BaseModel):
    services: list[CdsServicePublic]


class FhirAuthorization(BaseModel):
    """`fhirAuthorization`: the bearer token the CDS Client issued for this call."""

    model_config = ConfigDict(extra="allow")

    access_token: StrictStr = Field(min_length=1)
    token_type: StrictStr = "Bearer"
    expires_in: int | None = None
    scope: StrictStr | None = None
    subject: StrictStr | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("token_type must be 'Bearer'")
        return value


class HookRequest(BaseModel):
    """The body a CDS Client POSTs to `/cds-services/{id}`."""

    model_config = ConfigDict(extra="allow")

    hook: StrictStr = Field(min_length=1)
    hookInstance: StrictStr = Field(min_length=1, max_length=200)
    fhirServer: StrictStr | None = Field(default=None, max_length=2000)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class Coding(BaseModel):
    model_config = ConfigDict(extra="allow")

    system: StrictStr | None = None
    code: StrictStr | None = None
    display: StrictStr | None = None


class SourcePublic(BaseModel):
    label: str
    url: str | None = None


class ActionPublic(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class SuggestionPublic(BaseModel):
    label: str
    uuid: str
    isRecommended: bool
    actions: list[ActionPublic]


class CardPublic(BaseModel):
    uuid: str
    summary: str = Field(max_length=139)
    detail: str
    indicator: Literal["info", "warning", "critical"]
    source: SourcePublic
    selectionBehavior: Literal["any", "at-most-one"]
    suggestions: list[SuggestionPublic]
    overrideReasons: list[Coding]


class HookResponse(BaseModel):
    cards: list[CardPublic]


class AcceptedSuggestion(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = Field(min_length=1)


class OverrideReason(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: Coding | None = None
    userComment: StrictStr | None = Field(default=None, max_length=1800)


class FeedbackItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    card: StrictStr = Field(min_length=1, max_length=64)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: dt.datetime


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    feedback: list[FeedbackItem] = Field(min_length=1, max_length=100)


class FeedbackResult(BaseModel):
    card: str
    outcome: str
    review_id: int
    revision: int
    accepted: list[str]
    rejected: list[str]


class FeedbackPublic(BaseModel):
    reviews: list[FeedbackResult]
