"""`/v1/claims`: build a claim (837P, FHIR R4 Claim, CMS-1500) from codes, with coding edits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import JSONResponse, PlainTextResponse

from serving.claims import service
from serving.claims.catalog import CodeCatalog, default_catalog
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimPublic
from serving.deps import AuthUser, SessionDep, require_roles
from serving.schemas.common import error_responses

router = APIRouter(prefix="/claims", tags=["claims"])

ClaimId = Annotated[str, Path(description="Claim id (UUID).", max_length=64)]
ClaimsUser = Annotated[AuthUser, Depends(require_roles("coder"))]


def get_claim_catalog() -> CodeCatalog:
    """The code catalog the edits read (override in tests)."""
    return default_catalog()


def get_ncci_tables() -> NcciTables:
    """The NCCI PTP/MUE tables the edits read (the packaged curated subset by default)."""
    return NcciTables.packaged()


CatalogDep = Annotated[CodeCatalog, Depends(get_claim_catalog)]
TablesDep = Annotated[NcciTables, Depends(get_ncci_tables)]


@router.post(
    "",
    response_model=ClaimPublic,
    status_code=status.HTTP_201_CREATED,
    summary="Build and store a claim",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def create_claim(
    body: ClaimCreate,
    session: SessionDep,
    user: ClaimsUser,
    catalog: CatalogDep,
    tables: TablesDep,
) -> ClaimPublic:
    """Build a claim from explicit `diagnoses` + `lines`, or from the latest review of
    `suggestion_set_id` (ICD-10-CM codes become diagnoses, CPT/HCPCS codes become lines priced by
    `fees`). Runs the coding edits; the claim is stored `ready` with X12 837P, FHIR R4 Claim and
    CMS-1500 renderings, or `rejected` with the edits and no rendering. Missing fields are one
    422 naming every field. Roles: coder, admin."""
    return service.create_claim(session, body, user=user, catalog=catalog, tables=tables)


@router.get(
    "/{id}",
    response_model=ClaimPublic,
    summary="Read a stored claim",
    responses=error_responses(401, 403, 404, 503),
)
def read_claim(id: ClaimId, session: SessionDep, user: ClaimsUser) -> ClaimPublic:
    """The claim with its status, edits and renderings. Roles: coder, admin."""
    return service.to_public(service.get_row(session, id))


@router.get(
    "/{id}/x12",
    response_class=PlainTextResponse,
    summary="Download the X12 837P",
    responses={200: {"content": {"text/plain": {}}}, **error_responses(401, 403, 404, 409)},
)
def read_claim_x12(id: ClaimId, session: SessionDep, user: ClaimsUser) -> PlainTextResponse:
    """The 005010X222A1 837P interchange (409 `claim_rejected` for a rejected claim)."""
    return PlainTextResponse(service.get_x12(session, id))


@router.get(
    "/{id}/fhir",
    summary="Download the FHIR R4 Claim",
    responses={
        200: {"content": {"application/fhir+json": {}}},
        **error_responses(401, 403, 404, 409),
    },
)
def read_claim_fhir(id: ClaimId, session: SessionDep, user: ClaimsUser) -> JSONResponse:
    """The FHIR R4 Claim resource (409 `claim_rejected` for a rejected claim)."""
    body: dict[str, Any] = service.get_fhir(session, id)
    return JSONResponse(body, media_type="application/fhir+json")
