"""Claims as a stored resource: build from a request (or a reviewed suggestion set), store, read.

Every POST stores a claim, `ready` with its renderings or `rejected` with the edits that stopped
it; a rejected claim has no rendering to download.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy.orm import Session

from serving.claims.build import (
    BuiltClaim,
    ClaimInputError,
    ReviewedCode,
    build_claim,
    claim_from_review,
)
from serving.claims.catalog import CodeCatalog
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimEdit, ClaimPublic
from serving.db.models import ClaimRow, SuggestionSetRow
from serving.deps import AuthUser
from serving.errors import Conflict, InvalidInput, NotFound

logger = logging.getLogger(__name__)


def _resolve(session: Session, body: ClaimCreate) -> ClaimCreate:
    if body.suggestion_set_id is None:
        return body
    from serving.services.reviews import latest_review

    if session.get(SuggestionSetRow, body.suggestion_set_id) is None:
        raise NotFound(
            f"suggestion set {body.suggestion_set_id!r} does not exist",
            code="suggestion_set_not_found",
            field="suggestion_set_id",
        )
    review = latest_review(session, body.suggestion_set_id)
    if review is None:
        raise Conflict(
            f"suggestion set {body.suggestion_set_id!r} has not been reviewed; review it first "
            "(claims are built from the coder's final codes)",
            code="not_reviewed",
            field="suggestion_set_id",
        )
    codes = [ReviewedCode(system=c.system, code=c.code) for c in review.final_codes]
    try:
        return claim_from_review(body, codes)
    except ClaimInputError as exc:
        raise InvalidInput(
            str(exc), code="missing_fields", field=exc.fields[0], details={"missing": exc.fields}
        ) from None


def create_claim(
    session: Session,
    body: ClaimCreate,
    *,
    user: AuthUser,
    catalog: CodeCatalog,
    tables: NcciTables,
    verify_x12: bool = False,
) -> ClaimPublic:
    claim = _resolve(session, body)
    claim_id = str(uuid.uuid4())
    created = dt.datetime.now(dt.UTC)
    built: BuiltClaim = build_claim(
        claim,
        catalog=catalog,
        claim_id=claim_id,
        created=created,
        tables=tables,
        verify_x12=verify_x12,
    )
    row = ClaimRow(
        id=claim_id,
        suggestion_set_id=claim.suggestion_set_id,
        status=built.status,
        request_json=claim.model_dump(mode="json", exclude_none=True),
        edits_json=[e.model_dump(mode="json") for e in built.edits],
        x12=built.x12,
        fhir_json=built.fhir,
        cms1500_json=built.cms1500,
        created_by=user.name,
        created_at=created,
    )
    session.add(row)
    session.flush()
    logger.info("claim %s stored: %s, %d edits", claim_id, built.status, len(built.edits))
    return to_public(row)


def to_public(row: ClaimRow) -> ClaimPublic:
    return ClaimPublic(
        id=row.id,
        status="ready" if row.status == "ready" else "rejected",
        suggestion_set_id=row.suggestion_set_id,
        edits=[ClaimEdit.model_validate(e) for e in row.edits_json],
        x12=row.x12,
        fhir=row.fhir_json,
        cms1500=row.cms1500_json,
        request=row.request_json,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def get_row(session: Session, claim_id: str) -> ClaimRow:
    row = session.get(ClaimRow, claim_id)
    if row is None:
        raise NotFound(f"claim {claim_id!r} does not exist", code="claim_not_found", field="id")
    return row


def _rendered(row: ClaimRow) -> ClaimRow:
    if row.status != "ready":
        raise Conflict(
            f"claim {row.id!r} was rejected by its edits and has no rendering",
            code="claim_rejected",
            details={"edits": row.edits_json},
        )
    return row


def get_x12(session: Session, claim_id: str) -> str:
    return _rendered(get_row(session, claim_id)).x12 or ""


def get_fhir(session: Session, claim_id: str) -> dict[str, object]:
    return dict(_rendered(get_row(session, claim_id)).fhir_json or {})
