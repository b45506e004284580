"""`/v1/corrections`: reviewed cases as training examples (JSON Lines)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from serving.deps import AuthUser, SessionDep, require_roles
from serving.schemas.common import error_responses
from serving.services import corrections

router = APIRouter(prefix="/v1/corrections", tags=["corrections"])

JSONL = "application/x-ndjson"

_EXAMPLE_LINE = {
    "suggestion_set_id": "5f0c3f7e-1f7a-4a53-9a55-2a9d8a3c2b10",
    "review_id": 12,
    "revision": 1,
    "note_id": "0b7a2d1c-3e4f-4a5b-8c6d-7e8f9a0b1c2d",
    "text": "Assessment: Type 2 diabetes mellitus without complications. Denies chest pain.",
    "meta": {"setting": "outpatient"},
    "model_version": "chartcoder-v1-20261126",
    "systems": ["ICD-10-CM"],
    "model_codes": [
        {
            "system": "ICD-10-CM",
            "code": "R07.9",
            "description": "Chest pain, unspecified",
            "score": 0.41,
            "rank": 2,
            "accepted": False,
            "evidence": [{"start": 67, "end": 77, "text": "chest pain"}],
        }
    ],
    "final_codes": [
        {
            "system": "ICD-10-CM",
            "code": "E11.9",
            "description": "Type 2 diabetes mellitus without complications",
            "source": "added",
            "model_score": None,
            "evidence": [
                {"start": 12, "end": 58, "text": "Type 2 diabetes mellitus without complications"}
            ],
        }
    ],
    "corrections": [
        {
            "action": "reject",
            "system": "ICD-10-CM",
            "code": "R07.9",
            "reason": "negated",
            "comment": None,
            "replacement": None,
            "evidence": [{"start": 67, "end": 77, "text": "chest pain"}],
            "model_score": 0.41,
        }
    ],
    "reviewed_by": "coder-ana",
    "reviewed_at": "2026-11-26T23:50:00+00:00",
}


@router.get(
    "/export",
    response_model=None,
    response_class=Response,
    summary="Export corrections as training examples",
    responses={
        200: {
            "description": "One JSON object per line, one per reviewed suggestion set (its "
            "latest revision): note text, final codes with evidence, what the model had said and "
            "each correction.",
            "content": {JSONL: {"example": json.dumps(_EXAMPLE_LINE) + "\n"}},
        },
        **error_responses(401, 403, 422, 503),
    },
)
def export_corrections(
    session: SessionDep,
    user: Annotated[AuthUser, Depends(require_roles())],
    since: Annotated[
        dt.datetime | None,
        Query(description="ISO 8601 time; only sets (re-)reviewed at or after it."),
    ] = None,
    format: Annotated[Literal["jsonl"], Query(description="Output format.")] = "jsonl",
) -> Response:
    """Training examples for retraining (they contain note text). Roles: admin."""
    lines = [
        json.dumps(row, ensure_ascii=False) + "\n" for row in corrections.export(session, since)
    ]
    return Response(
        "".join(lines),
        media_type=JSONL,
        headers={"X-Chartcoder-Examples": str(len(lines))},
    )
