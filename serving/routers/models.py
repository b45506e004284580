"""`/v1/models`: the model registry (list, inspect, activate, roll back)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from serving.deps import AdminUser, AnyUser, SessionDep
from serving.errors import ModelUnavailable
from serving.registry import ModelRegistry
from serving.schemas.common import error_responses
from serving.schemas.models import (
    ActivationPublic,
    ModelDetailPublic,
    ModelListPublic,
    ModelPublic,
)
from serving.services import models as service

router = APIRouter(prefix="/v1/models", tags=["models"])

Version = Annotated[str, Path(description="Model version (its artifact's manifest version).")]


def get_registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        raise ModelUnavailable("the model registry is not initialised", code="no_registry")
    return registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


@router.get(
    "",
    response_model=ModelListPublic,
    summary="List registered model versions",
    responses=error_responses(401, 403, 503),
)
def list_models(session: SessionDep, registry: RegistryDep, _: AnyUser) -> ModelListPublic:
    """Every registered version with its metrics and flags: `active` (per the database),
    `previous` (the rollback target) and `loaded` (in the answering process). Any role."""
    infos = service.list_models(session, registry)
    return ModelListPublic(
        active_version=next((i.version for i in infos if i.active), None),
        serving_version=registry.active_version,
        models=[ModelPublic.model_validate(i, from_attributes=True) for i in infos],
    )


@router.get(
    "/{version}",
    response_model=ModelDetailPublic,
    summary="One model version, with its evaluation report",
    responses=error_responses(401, 403, 404, 503),
)
def get_model(
    version: Version, session: SessionDep, registry: RegistryDep, _: AnyUser
) -> ModelDetailPublic:
    """A version's metrics and its markdown evaluation report (`report_md`). Any role."""
    info = service.describe_model(session, version, registry)
    return ModelDetailPublic.model_validate(info, from_attributes=True)


@router.post(
    "/rollback",
    response_model=ActivationPublic,
    summary="Roll back to the previously active version",
    responses=error_responses(401, 403, 409, 422, 503),
)
def rollback(session: SessionDep, registry: RegistryDep, user: AdminUser) -> ActivationPublic:
    """Re-activate the version that was active before the current one (loaded already in this
    process, so the switch is instant). 409 `no_rollback` when there is none. Admin only."""
    current = service.active_version(session)
    info = service.rollback(session, registry, actor=user.name)
    return ActivationPublic(
        active=ModelDetailPublic.model_validate(info, from_attributes=True),
        previous_version=current,
    )


@router.post(
    "/{version}/activate",
    response_model=ActivationPublic,
    summary="Switch the served model",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def activate(
    version: Version, session: SessionDep, registry: RegistryDep, user: AdminUser
) -> ActivationPublic:
    """Load the version, then swap it in: requests in flight finish on the old model and no
    request fails. If the artifact fails to load, nothing changes and the error is returned
    (422 `model_load_failed`); the old model keeps serving. Other workers follow within about a
    second. Admin only."""
    current = service.active_version(session)
    info = service.activate(session, registry, version, actor=user.name)
    return ActivationPublic(
        active=ModelDetailPublic.model_validate(info, from_attributes=True),
        previous_version=current,
    )
