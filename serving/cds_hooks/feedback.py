"""CDS Hooks feedback -> coder review decisions and correction events.

Per feedback entry (one card = one suggestion set):
- `accepted`: each `acceptedSuggestions[].id` -> an `accept` decision for its code;
- `overridden`: every code on the card -> a `reject` decision. The reason is the
  `overrideReason.reason` code when it is one of ours (`urn:chartcoder:review-reason`, the
  review API's reasons); any other or missing reason becomes `other`, with the client's coding
  and `userComment` kept in the decision comment.

Each entry becomes one review revision via `serving.services.reviews.submit_review`, exactly as
if a coder had reviewed: decisions of the previous revision of the same set carry forward, and
this entry's decisions replace them code by code (so two accepts on one card add up).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.cds_hooks.cards import OVERRIDE_REASON_SYSTEM, card_codes, suggestion_uuid
from serving.cds_hooks.schemas import FeedbackItem, FeedbackResult
from serving.db.models import CorrectionEventRow, NoteRow, ReviewRow, SuggestionSetRow
from serving.errors import InvalidInput, NotFound
from serving.schemas.reviews import REJECT_REASONS
from serving.schemas.suggestions import SuggestedCodePublic
from serving.services.reviews import submit_review
from serving.services.suggestions import Actor

logger = logging.getLogger(__name__)

Key = tuple[str, str]


def _card_set(session: Session, card: str, user: Actor, field: str) -> SuggestionSetRow:
    """The suggestion set behind a card this client was given (404 otherwise)."""
    row = session.get(SuggestionSetRow, card)
    note = session.get(NoteRow, row.note_id) if row is not None else None
    if row is None or note is None or note.source != "cds" or row.created_by != user.name:
        raise NotFound(
            f"no card {card!r} was issued to this CDS client", code="unknown_card", field=field
        )
    return row


def _previous(session: Session, set_id: str) -> dict[Key, dict[str, Any]]:
    """Decisions of the set's latest review revision, by code."""
    review_id = session.scalar(
        select(ReviewRow.id)
        .where(ReviewRow.suggestion_set_id == set_id)
        .order_by(ReviewRow.revision.desc())
        .limit(1)
    )
    if review_id is None:
        return {}
    out: dict[Key, dict[str, Any]] = {}
    for e in session.scalars(
        select(CorrectionEventRow)
        .where(CorrectionEventRow.review_id == review_id)
        .order_by(CorrectionEventRow.id)
    ):
        if e.action not in ("accept", "reject", "replace"):
            continue
        d: dict[str, Any] = {"system": e.system, "code": e.code, "action": e.action}
        if e.reason:
            d["reason"] = e.reason
        if e.comment:
            d["comment"] = e.comment
        if e.action == "replace" and e.replacement_code:
            d["replacement"] = {"system": e.replacement_system, "code": e.replacement_code}
        out[(e.system, e.code)] = d
    return out


def _reject_reason(item: FeedbackItem) -> tuple[str, str | None]:
    override = item.overrideReason
    comment = override.userComment.strip() if override and override.userComment else None
    reason = override.reason if override else None
    if (
        reason is not None
        and reason.code in REJECT_REASONS
        and reason.system
        in (
            None,
            OVERRIDE_REASON_SYSTEM,
        )
    ):
        return reason.code, comment
    if reason is not None:
        label = f"{reason.system or ''}|{reason.code or ''}"
        if reason.display:
            label += f" ({reason.display})"
        note = f"EHR override reason {label}"
    else:
        note = "overridden in the EHR without a reason"
    return "other", f"{note}: {comment}" if comment else note


def apply_feedback(
    session: Session, *, item: FeedbackItem, index: int, user: Actor
) -> FeedbackResult:
    """Store one feedback entry as a review revision. Raises `NotFound` / `InvalidInput`."""
    at = f"feedback[{index}]"
    row = _card_set(session, item.card, user, f"{at}.card")
    shown = card_codes([SuggestedCodePublic.model_validate(c) for c in row.codes_json])
    by_uuid = {suggestion_uuid(row.id, c.system, c.code): c for c in shown}
    decisions = _previous(session, row.id)
    accepted: list[str] = []
    rejected: list[str] = []
    if item.outcome == "accepted":
        if not item.acceptedSuggestions:
            raise InvalidInput(
                "an accepted outcome needs acceptedSuggestions", field=f"{at}.acceptedSuggestions"
            )
        for j, s in enumerate(item.acceptedSuggestions):
            c = by_uuid.get(s.id)
            if c is None:
                raise InvalidInput(
                    f"suggestion {s.id!r} is not on card {item.card!r}",
                    code="unknown_suggestion",
                    field=f"{at}.acceptedSuggestions[{j}].id",
                )
            decisions[(c.system, c.code)] = {"system": c.system, "code": c.code, "action": "accept"}
            accepted.append(f"{c.system}:{c.code}")
    else:
        reason, comment = _reject_reason(item)
        for c in shown:
            d: dict[str, Any] = {
                "system": c.system,
                "code": c.code,
                "action": "reject",
                "reason": reason,
            }
            if comment:
                d["comment"] = comment[:2000]
            decisions[(c.system, c.code)] = d
            rejected.append(f"{c.system}:{c.code}")
    review = submit_review(
        session,
        suggestion_set_id=row.id,
        decisions=list(decisions.values()),
        added=[],
        user=user,
    )
    logger.info(
        "CDS feedback on card %s: %s, review revision %d", item.card, item.outcome, review.revision
    )
    return FeedbackResult(
        card=item.card,
        outcome=item.outcome,
        review_id=review.id,
        revision=review.revision,
        accepted=accepted,
        rejected=rejected,
    )
