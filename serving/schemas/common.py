"""Schemas shared by every router: the error body and code references."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr

System = Literal["ICD-10-CM", "CPT", "HCPCS"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


#: Free text a person typed (comments, labels): a string without NUL characters.
PlainText = Annotated[StrictStr, AfterValidator(_no_nul)]


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code.", examples=["empty_note"])
    message: str = Field(examples=["note text is empty"])
    field: str | None = Field(default=None, description="The offending field, when one is.")
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting the JSON error body."""
    text = {
        401: "Missing or invalid API key.",
        403: "The caller's role may not use this route.",
        404: "Unknown id.",
        409: "Concurrent write; retry.",
        413: "Note over the size limit.",
        422: "Invalid input; `error.field` names the problem.",
        503: "Database or model unavailable; retry after `Retry-After` seconds.",
    }
    return {s: {"model": ErrorBody, "description": text.get(s, "Error.")} for s in statuses}


class SpanPublic(BaseModel):
    start: int = Field(description="Start offset (inclusive) into the note text.")
    end: int = Field(description="End offset (exclusive).")
    text: str = Field(description="`note_text[start:end]`.")


class SpanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, strict=True)
    end: int = Field(ge=0, strict=True)


class CodeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: System
    code: StrictStr = Field(min_length=1, max_length=20)
