"""`/v1/audit`: QA sampling of reviewed cases, auditor verdicts, agreement statistics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from serving.deps import AuditorUser, SessionDep
from serving.schemas.audit import (
    AuditCasePublic,
    AuditSamplePublic,
    AuditStatsPublic,
    Strategy,
    VerdictCreate,
    VerdictPublic,
)
from serving.schemas.common import error_responses
from serving.services import audit as service

router = APIRouter(prefix="/v1/audit", tags=["audit"])

CaseId = Annotated[int, Path(description="Audit case id.", ge=1)]


@router.get(
    "/sample",
    response_model=AuditSamplePublic,
    summary="Draw a reproducible QA sample of reviewed cases",
    responses=error_responses(401, 403, 422, 503),
)
def sample(
    session: SessionDep,
    user: AuditorUser,
    n: Annotated[int, Query(ge=1, le=service.MAX_SAMPLE, description="Cases wanted.")] = 10,
    strategy: Annotated[
        Strategy,
        Query(
            description="`low_confidence`: lowest minimum (then mean) model score among the "
            "final codes (codes the model did not suggest score 0); `random`: seeded uniform; "
            "`stratified`: even over the bands <0.5, 0.5-0.8, 0.8-0.95, >=0.95."
        ),
    ] = "low_confidence",
    seed: Annotated[
        int | None,
        Query(ge=0, le=2**31 - 1, description="Seed; one is generated (and returned) if absent."),
    ] = None,
    dry_run: Annotated[
        bool, Query(description="Preview the draw without recording audit cases.")
    ] = False,
) -> AuditSamplePublic:
    """Sample the latest review revision of reviewed cases not yet audited, and record each
    drawn case as an audit case (who, when, strategy, seed). The same seed on the same data
    draws the same cases. Roles: auditor, admin."""
    return service.sample(
        session, n=n, strategy=strategy, seed=seed, actor=user.name, dry_run=dry_run
    )


@router.get(
    "/stats",
    response_model=AuditStatsPublic,
    summary="Agreement between auditors and coders",
    responses=error_responses(401, 403, 503),
)
def stats(session: SessionDep, _: AuditorUser) -> AuditStatsPublic:
    """Agreement rates with counts, overall, per reviewing coder, per code system and per
    confidence band, from each audited case's latest verdict. Roles: auditor, admin."""
    return service.stats(session)


@router.get(
    "/cases/{id}",
    response_model=AuditCasePublic,
    summary="One audit case with its verdict history",
    responses=error_responses(401, 403, 404, 503),
)
def get_case(id: CaseId, session: SessionDep, _: AuditorUser) -> AuditCasePublic:
    """The sampled review's final codes with scores, and every verdict so far."""
    return service.get_case(session, id)


@router.post(
    "/cases/{id}/verdict",
    response_model=VerdictPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Record an auditor's verdict on a case",
    responses=error_responses(401, 403, 404, 422, 503),
)
def add_verdict(
    id: CaseId, body: VerdictCreate, session: SessionDep, user: AuditorUser
) -> VerdictPublic:
    """Agree/disagree with each final code (all of them), plus corrected codes (validated
    against the catalog; 422 names each bad one) and a comment. A second verdict on the same
    case is stored as a new verdict; the latest counts in the statistics. Roles: auditor,
    admin."""
    return service.add_verdict(session, id, body, actor=user.name)
