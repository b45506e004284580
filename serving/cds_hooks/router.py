"""CDS Hooks 2.0 endpoints: discovery, service calls and feedback (`/cds-services`).

Every call, discovery included, needs `Authorization: Bearer <JWT>` signed by a trusted CDS
Client (see `serving.cds_hooks.security`); the JWT `aud` must be
`<CHARTCODER_PUBLIC_BASE_URL><path called>`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Request

from serving.cds_hooks.clients import CdsClientRegistry, CdsClientsConfigError, cached_clients
from serving.cds_hooks.definitions import CdsServiceDef, service_definitions
from serving.cds_hooks.feedback import apply_feedback
from serving.cds_hooks.hooks import answer_hook, service_user
from serving.cds_hooks.schemas import (
    DiscoveryPublic,
    FeedbackPublic,
    FeedbackRequest,
    HookRequest,
    HookResponse,
)
from serving.cds_hooks.security import CdsAuthError, CdsCaller, bearer_token, verify_jwt
from serving.deps import SessionDep, SettingsDep, SuggesterDep
from serving.errors import NotFound, ServiceUnavailable, Unauthenticated

router = APIRouter(prefix="/cds-services", tags=["cds-hooks"])

ServiceId = Annotated[str, Path(description="CDS Service id from discovery.", max_length=100)]


def get_cds_clients(settings: SettingsDep) -> CdsClientRegistry:
    """The trusted CDS Clients from `CHARTCODER_CDS_CLIENTS` (reloaded when the file changes)."""
    if settings.cds_clients is None:
        raise Unauthenticated(
            "no CDS clients are trusted: set CHARTCODER_CDS_CLIENTS", code="no_cds_clients"
        )
    try:
        return cached_clients(settings.cds_clients)
    except CdsClientsConfigError as exc:
        raise ServiceUnavailable(str(exc), code="cds_clients_invalid", field=exc.field) from None


CdsClientsDep = Annotated[CdsClientRegistry, Depends(get_cds_clients)]


def called_url(request: Request, public_base_url: str) -> str:
    """The URL of the endpoint being called, as the CDS Client must name it in `aud`."""
    path = request.url.path
    root = request.scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return public_base_url.rstrip("/") + path


def authenticate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    registry: CdsClientsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> CdsCaller:
    try:
        return verify_jwt(
            bearer_token(authorization),
            registry=registry,
            audience=called_url(request, settings.public_base_url),
            session=session,
        )
    except CdsAuthError as exc:
        raise Unauthenticated(exc.message, code=exc.code) from None


CdsCallerDep = Annotated[CdsCaller, Depends(authenticate)]


def _service(service_id: str) -> CdsServiceDef:
    svc = service_definitions().get(service_id)
    if svc is None:
        raise NotFound(
            f"no CDS service {service_id!r}; see GET /cds-services",
            code="unknown_service",
            field="id",
        )
    return svc


@router.get("", response_model=DiscoveryPublic, summary="CDS Hooks discovery")
def discovery(caller: CdsCallerDep) -> DiscoveryPublic:
    """The CDS Services offered: hook, title, description, id and prefetch templates."""
    return DiscoveryPublic.model_validate(
        {"services": [s.discovery() for s in service_definitions().values()]}
    )


@router.post(
    "/{service_id}",
    response_model=HookResponse,
    response_model_exclude_none=True,
    summary="Call a CDS Service",
)
def call_service(
    service_id: ServiceId,
    body: HookRequest,
    caller: CdsCallerDep,
    session: SessionDep,
    settings: SettingsDep,
    suggester: SuggesterDep,
) -> HookResponse:
    """Suggest codes as cards for the notes (or draft orders) of this hook call. 412 when the
    notes were not prefetched and cannot be fetched from `fhirServer`."""
    svc = _service(service_id)
    cards = answer_hook(
        session,
        svc=svc,
        body=body,
        suggester=suggester,
        iss=caller.iss,
        max_chars=settings.max_note_chars,
        production=settings.environment == "production",
        source_url=None,
    )
    return HookResponse.model_validate({"cards": cards})


@router.post(
    "/{service_id}/feedback",
    response_model=FeedbackPublic,
    summary="Feedback on cards (accepted / overridden)",
)
def feedback(
    service_id: ServiceId,
    body: FeedbackRequest,
    caller: CdsCallerDep,
    session: SessionDep,
) -> FeedbackPublic:
    """Accepted suggestions become `accept` decisions, overridden cards `reject` decisions with
    the override reason: one coder-review revision per feedback entry."""
    _service(service_id)
    user = service_user(session, caller.iss)
    results = [
        apply_feedback(session, item=item, index=i, user=user)
        for i, item in enumerate(body.feedback)
    ]
    return FeedbackPublic(reviews=results)
