"""`/v1/suggestions`: suggest codes for a note, read a stored set, review it."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, status

from serving.deps import AuthUser, SessionDep, SettingsDep, SuggesterDep, require_roles
from serving.metrics import Metrics
from serving.schemas.common import error_responses
from serving.schemas.reviews import ReviewCreate, ReviewPublic
from serving.schemas.suggestions import SuggestionCreate, SuggestionSetPublic
from serving.services import reviews, suggestions

router = APIRouter(prefix="/v1/suggestions", tags=["suggestions"])

SetId = Annotated[str, Path(description="Suggestion set id (UUID).", max_length=64)]


@router.post(
    "",
    response_model=SuggestionSetPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Suggest codes for a note",
    responses=error_responses(401, 403, 413, 422, 503),
)
def create_suggestions(
    body: SuggestionCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    suggester: SuggesterDep,
    user: Annotated[AuthUser, Depends(require_roles("coder", "ehr"))],
) -> SuggestionSetPublic:
    """Run the active model on the note and store the ranked codes (with evidence offsets into
    `text`) as a suggestion set. Roles: coder, ehr, admin."""
    started = time.perf_counter()
    result = suggestions.create_suggestion_set(
        session,
        suggester=suggester,
        text=body.text,
        meta=body.meta.model_dump(exclude_none=True) if body.meta else None,
        systems=body.systems,
        top_k=body.top_k,
        user=user,
        max_chars=settings.max_note_chars,
    )
    metrics: Metrics = request.app.state.metrics
    metrics.suggestions.labels(result.model_version).inc()
    metrics.suggest_latency.observe(time.perf_counter() - started)
    return result


@router.get(
    "/{id}",
    response_model=SuggestionSetPublic,
    summary="Read a stored suggestion set",
    responses=error_responses(401, 403, 404, 503),
)
def read_suggestions(
    id: SetId,
    session: SessionDep,
    user: Annotated[AuthUser, Depends(require_roles("coder", "auditor", "ehr"))],
) -> SuggestionSetPublic:
    """The stored set with its latest review, if any. Roles: coder, auditor, ehr, admin."""
    return suggestions.get_suggestion_set(session, id)


@router.post(
    "/{id}/review",
    response_model=ReviewPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Submit the coder's review",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def review_suggestions(
    id: SetId,
    body: ReviewCreate,
    request: Request,
    session: SessionDep,
    user: Annotated[AuthUser, Depends(require_roles("coder"))],
) -> ReviewPublic:
    """Accept, reject (with a reason) or replace each suggested code, and add codes the model
    missed with their evidence spans. Every code is checked against the catalog; a bad one is a
    422 naming it. Returns the final code set as a new review revision. Roles: coder, admin."""
    result = reviews.submit_review(
        session, suggestion_set_id=id, decisions=body.decisions, added=body.added, user=user
    )
    metrics: Metrics = request.app.state.metrics
    for d in body.decisions:
        metrics.review_decisions.labels(d.action).inc()
    for _ in body.added:
        metrics.review_decisions.labels("add").inc()
    return result
