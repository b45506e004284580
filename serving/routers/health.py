"""Operational routes: `/healthz`, `/readyz`, `/metrics` (no API key needed, no PHI)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from serving.db.models import CorrectionEventRow
from serving.deps import get_session_factory
from serving.metrics import Metrics

logger = logging.getLogger(__name__)

router = APIRouter(tags=["operations"])

FactoryDep = Annotated[sessionmaker[Session], Depends(get_session_factory)]


class HealthPublic(BaseModel):
    status: Literal["ok"]


class CheckPublic(BaseModel):
    ok: bool
    detail: str | None = None


class ReadyPublic(BaseModel):
    status: Literal["ready", "not_ready"]
    model_version: str | None
    checks: dict[str, CheckPublic]


@router.get("/healthz", response_model=HealthPublic, summary="Liveness")
def healthz() -> HealthPublic:
    """The process is up (says nothing about the model or database)."""
    return HealthPublic(status="ok")


def _model_check(request: Request) -> tuple[CheckPublic, str | None]:
    registry: Any = getattr(request.app.state, "registry", None)
    version = getattr(registry, "active_version", None) if registry is not None else None
    if version is not None:
        return CheckPublic(ok=True, detail=f"serving {version}"), version
    reason = getattr(request.app.state, "model_error", None) or "no model is loaded"
    return CheckPublic(ok=False, detail=str(reason)), None


@router.get(
    "/readyz",
    response_model=ReadyPublic,
    summary="Readiness: model loaded and database reachable",
    responses={503: {"model": ReadyPublic, "description": "Not ready; see `checks`."}},
)
def readyz(request: Request, factory: FactoryDep) -> Response:
    model_check, version = _model_check(request)
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
        db_check = CheckPublic(ok=True)
    except SQLAlchemyError as exc:
        db_check = CheckPublic(ok=False, detail=f"database unreachable ({type(exc).__name__})")
    ready = model_check.ok and db_check.ok
    body = ReadyPublic(
        status="ready" if ready else "not_ready",
        model_version=version,
        checks={"model": model_check, "database": db_check},
    )
    headers = None if ready else {"Retry-After": "5"}
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503, headers=headers)


def _update_review_gauges(metrics: Metrics, factory: sessionmaker[Session]) -> None:
    try:
        with factory() as session:
            rows = session.execute(
                select(CorrectionEventRow.action, func.count()).group_by(CorrectionEventRow.action)
            ).all()
            counts = {str(action): int(n) for action, n in rows}
    except SQLAlchemyError:
        logger.warning("metrics: database unreachable; review gauges not refreshed")
        return
    for action in ("accept", "reject", "replace", "add"):
        metrics.reviewed_codes.labels(action).set(counts.get(action, 0))
    decided = sum(counts.get(a, 0) for a in ("accept", "reject", "replace"))
    metrics.acceptance_rate.set(counts.get("accept", 0) / decided if decided else 0.0)


@router.get(
    "/metrics",
    response_model=None,
    response_class=Response,
    summary="Prometheus metrics",
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Exposition format."}},
)
def metrics(request: Request, factory: FactoryDep) -> Response:
    """Request counts and latency histograms per route template, suggestions served, coder
    acceptance rate."""
    m: Metrics = request.app.state.metrics
    _update_review_gauges(m, factory)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
