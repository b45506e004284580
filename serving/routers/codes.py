"""`/v1/codes`: the code catalog (ICD-10-CM, CPT, HCPCS)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving.deps import AnyUser
from serving.errors import NotFound
from serving.schemas.codes import CodePublic, CodeSearchPublic
from serving.schemas.common import System, error_responses
from serving.services import catalog

router = APIRouter(prefix="/v1/codes", tags=["codes"])


def _public(info: catalog.CodeInfo) -> CodePublic:
    return CodePublic(
        system=info.system,
        code=info.code,
        description=info.description,
        billable=info.billable,
        official=info.official,
    )


@router.get(
    "/search",
    response_model=CodeSearchPublic,
    summary="Search the code catalog",
    responses=error_responses(401, 422),
)
def search_codes(
    user: AnyUser,
    q: Annotated[
        str,
        Query(min_length=1, max_length=200, description="Code or words.", examples=["diabetes"]),
    ],
    system: Annotated[System | None, Query(description="Limit to one code system.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CodeSearchPublic:
    """Codes whose code or description matches `q`. Roles: any."""
    hits = catalog.search(q, system=system, limit=limit)
    return CodeSearchPublic(query=q, system=system, results=[_public(h) for h in hits])


@router.get(
    "/{system}/{code}",
    response_model=CodePublic,
    summary="Look up one code",
    responses=error_responses(401, 404, 422),
)
def read_code(
    user: AnyUser,
    system: Annotated[System, Path(description="ICD-10-CM, CPT or HCPCS.")],
    code: Annotated[str, Path(max_length=20, examples=["E11.9"])],
) -> CodePublic:
    """One catalog entry. Roles: any."""
    info = catalog.lookup(system, code)
    if info is None:
        raise NotFound(
            f"{system} code {code!r} is not in the catalog", code="code_not_found", field="code"
        )
    return _public(info)
