"""Schemas of `/v1/codes`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodePublic(BaseModel):
    system: str
    code: str
    description: str = Field(
        description="ICD-10-CM / HCPCS: official short text. CPT: a plain-language label written "
        "by chartcoder, not the AMA descriptor."
    )
    billable: bool | None = None
    official: bool = Field(description="False where the description is not an official text.")


class CodeSearchPublic(BaseModel):
    query: str
    system: str | None
    results: list[CodePublic]
