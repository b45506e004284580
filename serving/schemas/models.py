"""Schemas of `/v1/models` (the model registry)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

_EXAMPLE: dict[str, JsonValue] = {
    "version": "chartcoder-v1-20261126",
    "path": "/srv/chartcoder-data/models/chartcoder-v1-20261126",
    "status": "registered",
    "active": True,
    "previous": False,
    "loaded": True,
    "metrics": {"n_notes": 300, "by_system": {"ICD-10-CM": {"ranking": {"map": 0.71}}}},
    "summary": {"ICD-10-CM": {"map": 0.71, "precision": 0.83}},
    "created_at": "2026-11-26T23:00:00Z",
    "created_by": "cli",
    "activated_at": "2026-11-26T23:05:00Z",
    "activated_by": "admin",
    "load_error": None,
}


class ModelPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    version: str
    path: str = Field(description="The artifact folder this version is loaded from.")
    status: str = Field(description="Registration status (`registered` or `retired`).")
    active: bool = Field(description="The version the database says is active.")
    previous: bool = Field(description="The version a rollback would return to.")
    loaded: bool = Field(description="Held in memory by the process that answered.")
    metrics: dict[str, Any] = Field(description="The artifact's evaluation metrics, as shipped.")
    summary: dict[str, dict[str, float]] = Field(
        description="Per code system: ranking `map` and `precision` of accepted codes, taken "
        "from `metrics` (empty when the report lacks them)."
    )
    created_at: dt.datetime
    created_by: str
    activated_at: dt.datetime | None = Field(description="When it was last activated.")
    activated_by: str | None
    load_error: str | None = Field(
        description="The last load failure of this version in the answering process, if any."
    )


class ModelDetailPublic(ModelPublic):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_EXAMPLE, "report_md": "# Evaluation\n..."}]}
    )

    report_md: str | None = Field(description="The artifact's markdown evaluation report.")


class ModelListPublic(BaseModel):
    active_version: str | None = Field(description="Active according to the database.")
    serving_version: str | None = Field(
        description="What the answering process is serving now (follows the database within "
        "about a second, or keeps the old model if the new one failed to load)."
    )
    models: list[ModelPublic]


class ActivationPublic(BaseModel):
    active: ModelDetailPublic
    previous_version: str | None = Field(description="The version that was active before.")
