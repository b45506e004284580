"""Schemas of `/v1/codes`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CodePublic(BaseModel):
    system: str
    code: str = Field(description="Display form (`E11.9`, `99213`, `G0439`).")
    description: str = Field(
        description="ICD-10-CM / HCPCS: official text. CPT: a plain-language label written by "
        "chartcoder (`official: false`), not the AMA descriptor."
    )
    billable: bool
    official: bool = Field(description="False where the description is not an official text.")


class CodeHitPublic(CodePublic):
    score: float = Field(description="Relevance to the query (higher is better).")


class CodeDetailPublic(CodePublic):
    kind: str = Field(description="`code` (billable leaf), or an ICD-10-CM block/category/...")
    parent: str | None
    inclusion_terms: list[str]
    excludes1: list[str]
    excludes2: list[str]
    code_first: list[str]
    use_additional: list[str]
    code_also: list[str]
    effective: str | None
    terminated: str | None
    sex: str | None
    age_min: int | None
    age_max: int | None
    billable_children: list[str] = Field(
        default_factory=list, description="For a header: the billable codes under it."
    )


class CodeSearchPublic(BaseModel):
    query: str
    system: str | None
    results: list[CodeHitPublic]
