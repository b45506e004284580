"""Export reviewed cases as training examples for retraining.

One example per reviewed suggestion set, from its latest review revision:

    {"suggestion_set_id", "review_id", "revision", "note_id", "text", "meta", "model_version",
     "systems", "model_codes": [...as suggested...], "final_codes": [...],
     "corrections": [{"action", "system", "code", "reason", "comment", "replacement",
                      "evidence", "model_score"}], "reviewed_by", "reviewed_at"}

`since` keeps the sets whose latest revision was saved at or after it; consumers deduplicate by
`suggestion_set_id` (a later export of a re-reviewed set supersedes the earlier one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.db.models import CorrectionEventRow, NoteRow, ReviewRow, SuggestionSetRow, as_utc


def _utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def export(session: Session, since: dt.datetime | None = None) -> Iterator[dict[str, Any]]:
    """Yield one training example per reviewed suggestion set (latest revision)."""
    latest = (
        select(ReviewRow.suggestion_set_id, func.max(ReviewRow.revision).label("revision"))
        .group_by(ReviewRow.suggestion_set_id)
        .subquery()
    )
    stmt = (
        select(ReviewRow, SuggestionSetRow, NoteRow)
        .join(
            latest,
            (latest.c.suggestion_set_id == ReviewRow.suggestion_set_id)
            & (latest.c.revision == ReviewRow.revision),
        )
        .join(SuggestionSetRow, SuggestionSetRow.id == ReviewRow.suggestion_set_id)
        .join(NoteRow, NoteRow.id == SuggestionSetRow.note_id)
        .order_by(ReviewRow.created_at, ReviewRow.id)
    )
    if since is not None:
        stmt = stmt.where(ReviewRow.created_at >= _utc(since))
    for review, ss, note in session.execute(stmt).tuples():
        events = session.scalars(
            select(CorrectionEventRow)
            .where(CorrectionEventRow.review_id == review.id)
            .order_by(CorrectionEventRow.id)
        ).all()
        yield {
            "suggestion_set_id": ss.id,
            "review_id": review.id,
            "revision": review.revision,
            "note_id": note.id,
            "text": note.text,
            "meta": note.meta_json,
            "model_version": ss.model_version,
            "systems": ss.systems_json,
            "model_codes": ss.codes_json,
            "final_codes": review.final_codes_json,
            "corrections": [
                {
                    "action": e.action,
                    "system": e.system,
                    "code": e.code,
                    "reason": e.reason,
                    "comment": e.comment,
                    "replacement": (
                        {"system": e.replacement_system, "code": e.replacement_code}
                        if e.replacement_code
                        else None
                    ),
                    "evidence": e.evidence_json,
                    "model_score": e.model_score,
                }
                for e in events
            ],
            "reviewed_by": review.created_by,
            "reviewed_at": as_utc(review.created_at).isoformat(),
        }
