"""`/v1/codes`: the code catalog (ICD-10-CM, CPT, HCPCS)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from serving.deps import AnyUser
from serving.errors import NotFound
from serving.schemas.codes import CodeDetailPublic, CodeHitPublic, CodeSearchPublic
from serving.schemas.common import System, error_responses
from serving.services import catalog

router = APIRouter(prefix="/v1/codes", tags=["codes"])


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
        Query(
            min_length=1,
            max_length=200,
            description="A code or words.",
            examples=["type 2 diabetes without complications"],
        ),
    ],
    system: Annotated[System | None, Query(description="Limit to one code system.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CodeSearchPublic:
    """Codes ranked by how well their code, description or inclusion terms match `q`.
    Roles: any."""
    hits = catalog.search(q, system=system, limit=limit)
    return CodeSearchPublic(
        query=q,
        system=system,
        results=[
            CodeHitPublic(
                system=e.system,
                code=e.code,
                description=e.description,
                billable=e.billable,
                official=e.official,
                score=round(score, 4),
            )
            for e, score in hits
        ],
    )


@router.get(
    "/{system}/{code}",
    response_model=CodeDetailPublic,
    summary="Look up one code",
    responses=error_responses(401, 404, 422),
)
def read_code(
    user: AnyUser,
    system: Annotated[System, Path(description="ICD-10-CM, CPT or HCPCS.")],
    code: Annotated[str, Path(max_length=20, examples=["E11.9"])],
) -> CodeDetailPublic:
    """One catalog entry (any case, dotted or not). Roles: any."""
    entry = catalog.lookup(system, code)
    if entry is None:
        raise NotFound(
            f"{system} code {code!r} is not in the catalog", code="code_not_found", field="code"
        )
    data = entry.to_dict()
    kids: list[str] = []
    if not entry.billable and entry.system == "ICD-10-CM":
        kids = list(catalog.catalog().billable_descendants(entry.code))
    return CodeDetailPublic.model_validate({**data, "billable_children": kids})
