"""Coder review of a suggestion set: decisions, added codes, final code set, correction log.

Final code set of a review, in this order:
1. each suggested code (by rank) the coder accepted, or that the coder left undecided while the
   model itself accepted it (`accepted: true`);
2. the replacement of each code the coder replaced (keeping the original's evidence and score);
3. the codes the coder added, with their evidence.
Rejected codes are left out. Every explicit decision and every added code becomes one
`correction_events` row. A re-review is a new `reviews` row with the next revision.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from model.codesets import CodeEntry, clean_code
from serving.db.models import CorrectionEventRow, NoteRow, ReviewRow, as_utc
from serving.errors import Conflict, InvalidInput
from serving.schemas.reviews import AddedCodeCreate, DecisionCreate, FinalCodePublic, ReviewPublic
from serving.services import catalog
from serving.services.suggestions import Actor, get_row

logger = logging.getLogger(__name__)

Key = tuple[str, str]


def _coerce(items: Sequence[Any], model: type[BaseModel], field: str) -> list[Any]:
    out = []
    for i, item in enumerate(items):
        if isinstance(item, model):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(model.model_validate(dict(item)))
        else:
            raise InvalidInput(f"{field}[{i}] must be an object", field=f"{field}[{i}]")
    return out


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, message: str, code: str = "invalid") -> None:
        self.items.append({"field": field, "message": message, "code": code})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        message = "; ".join(f"{p['field']}: {p['message']}" for p in self.items)
        raise InvalidInput(message, code="invalid_review", field=first["field"], details=self.items)


def _known(
    system: str, code: str, field: str, problems: _Problems, dos: dt.date | None
) -> CodeEntry | None:
    """The catalog entry if `code` may be in a final code set; else record why not."""
    found = catalog.problems(system, code, dos)
    if found:
        for p in found:
            problems.add(field, f"{system} {code}: {p['message']}", str(p["code"]))
        return None
    return catalog.lookup(system, code)


def _key(system: str, code: str) -> Key:
    return (system, clean_code(code))


def _note_date(meta: Mapping[str, Any] | None) -> dt.date | None:
    raw = (meta or {}).get("date_of_service")
    try:
        return dt.date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def submit_review(
    session: Session,
    *,
    suggestion_set_id: str,
    decisions: Sequence[DecisionCreate | Mapping[str, Any]],
    added: Sequence[AddedCodeCreate | Mapping[str, Any]],
    user: Actor,
) -> ReviewPublic:
    """Validate and store one review revision; return it.

    Raises `InvalidInput` (422) naming every bad code or field at once, `NotFound` (404) for an
    unknown set, `Conflict` (409) when a concurrent review took the same revision number.
    Does not commit.
    """
    ss = get_row(session, suggestion_set_id)
    note = session.get(NoteRow, ss.note_id)
    text = note.text if note is not None else ""
    dos = _note_date(note.meta_json if note is not None else None)
    decisions_ = _coerce(decisions, DecisionCreate, "decisions")
    added_ = _coerce(added, AddedCodeCreate, "added")

    suggested: dict[Key, dict[str, Any]] = {_key(c["system"], c["code"]): c for c in ss.codes_json}
    problems = _Problems()
    decided: dict[Key, tuple[int, DecisionCreate, CodeEntry | None]] = {}

    for i, d in enumerate(decisions_):
        f = f"decisions[{i}]"
        key = _key(d.system, d.code)
        if key not in suggested:
            problems.add(
                f"{f}.code",
                f"{d.system} {d.code} is not among the suggested codes of this set; "
                "use `added` for codes the model missed",
                "not_suggested",
            )
            continue
        if key in decided:
            problems.add(f, f"{d.system} {d.code} has more than one decision", "duplicate")
            continue
        if d.action == "accept":
            _known(d.system, d.code, f"{f}.code", problems, dos)
        replacement: CodeEntry | None = None
        if d.action == "reject" and d.reason is None:
            problems.add(f"{f}.reason", "a reject needs a reason", "missing_reason")
        if d.action != "replace" and d.replacement is not None:
            problems.add(f"{f}.replacement", "only a replace takes a replacement", "unexpected")
        if d.action == "replace":
            if d.replacement is None:
                problems.add(f"{f}.replacement", "a replace needs a replacement code", "missing")
            elif _key(d.replacement.system, d.replacement.code) == key:
                problems.add(
                    f"{f}.replacement", "the replacement equals the original code", "same_code"
                )
            else:
                replacement = _known(
                    d.replacement.system, d.replacement.code, f"{f}.replacement.code", problems, dos
                )
        if d.reason == "other" and not (d.comment and d.comment.strip()):
            problems.add(f"{f}.comment", "reason `other` needs a comment", "missing_comment")
        decided[key] = (i, d, replacement)

    additions: list[tuple[AddedCodeCreate, CodeEntry | None, list[dict[str, Any]]]] = []
    seen_added: set[Key] = set()
    for i, a in enumerate(added_):
        f = f"added[{i}]"
        key = _key(a.system, a.code)
        entry = _known(a.system, a.code, f"{f}.code", problems, dos)
        if key in suggested:
            problems.add(
                f"{f}.code",
                f"{a.system} {a.code} was suggested; accept it with a decision instead",
                "already_suggested",
            )
        elif key in seen_added:
            problems.add(f"{f}.code", f"{a.system} {a.code} is added twice", "duplicate")
        seen_added.add(key)
        spans = []
        for j, span in enumerate(a.evidence):
            if not span.start < span.end <= len(text):
                problems.add(
                    f"{f}.evidence[{j}]",
                    f"span [{span.start}, {span.end}) must satisfy start < end <= "
                    f"{len(text)} (the note length)",
                    "bad_span",
                )
                continue
            spans.append(
                {"start": span.start, "end": span.end, "text": text[span.start : span.end]}
            )
        additions.append((a, entry, spans))
    problems.raise_if_any()

    final: list[FinalCodePublic] = []
    final_keys: set[Key] = set()

    def put(item: FinalCodePublic) -> None:
        k = _key(item.system, item.code)
        if k not in final_keys:
            final_keys.add(k)
            final.append(item)

    for c in sorted(ss.codes_json, key=lambda c: int(c.get("rank", 0))):
        decision = decided.get(_key(c["system"], c["code"]))
        score = float(c["score"])
        if decision is None:
            if c.get("accepted"):
                put(_final(c["system"], c["code"], c["description"], "model", score, c))
            continue
        _, d, replacement = decision
        if d.action == "accept":
            put(_final(c["system"], c["code"], c["description"], "model", score, c))
        elif d.action == "replace" and replacement is not None:
            put(
                _final(
                    replacement.system,
                    replacement.code,
                    replacement.description,
                    "replacement",
                    score,
                    c,
                )
            )
    for _, entry, spans in additions:
        if entry is not None:
            put(_final(entry.system, entry.code, entry.description, "added", None, spans=spans))

    events: list[CorrectionEventRow] = []
    for _, d, replacement in sorted(decided.values(), key=lambda e: e[0]):
        c = suggested[_key(d.system, d.code)]
        events.append(
            CorrectionEventRow(
                suggestion_set_id=ss.id,
                system=c["system"],
                code=c["code"],
                action=d.action,
                reason=d.reason,
                comment=d.comment,
                replacement_system=replacement.system if replacement else None,
                replacement_code=replacement.code if replacement else None,
                evidence_json=list(c.get("evidence", [])),
                model_score=float(c["score"]),
                created_by=user.name,
            )
        )
    for a, entry, spans in additions:
        if entry is not None:
            events.append(
                CorrectionEventRow(
                    suggestion_set_id=ss.id,
                    system=entry.system,
                    code=entry.code,
                    action="add",
                    comment=a.comment,
                    evidence_json=spans,
                    model_score=None,
                    created_by=user.name,
                )
            )

    last = session.scalar(
        select(func.max(ReviewRow.revision)).where(ReviewRow.suggestion_set_id == ss.id)
    )
    review = ReviewRow(
        suggestion_set_id=ss.id,
        revision=(last or 0) + 1,
        final_codes_json=[f.model_dump(mode="json") for f in final],
        created_by=user.name,
    )
    session.add(review)
    try:
        session.flush()
    except IntegrityError:  # the request's transaction is rolled back by its session scope
        raise Conflict(
            "another review of this suggestion set was saved at the same time; retry",
            code="review_conflict",
        ) from None
    for event in events:
        event.review_id = review.id
    session.add_all(events)
    session.flush()
    logger.info(
        "review %s of suggestion set %s: revision %d, %d final codes, %d corrections",
        review.id,
        ss.id,
        review.revision,
        len(final),
        len(events),
    )
    return review_public(review)


def _final(
    system: str,
    code: str,
    description: str,
    source: str,
    score: float | None,
    c: Mapping[str, Any] | None = None,
    *,
    spans: Sequence[Mapping[str, Any]] | None = None,
) -> FinalCodePublic:
    evidence = list(spans) if spans is not None else list((c or {}).get("evidence", []))
    return FinalCodePublic.model_validate(
        {
            "system": system,
            "code": code,
            "description": description,
            "source": source,
            "model_score": score,
            "evidence": evidence,
        }
    )


def review_public(row: ReviewRow) -> ReviewPublic:
    return ReviewPublic(
        id=row.id,
        suggestion_set_id=row.suggestion_set_id,
        revision=row.revision,
        final_codes=[FinalCodePublic.model_validate(c) for c in row.final_codes_json],
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


def latest_review(session: Session, suggestion_set_id: str) -> ReviewPublic | None:
    """The newest revision of the set's review, or None if it was never reviewed."""
    row = session.scalars(
        select(ReviewRow)
        .where(ReviewRow.suggestion_set_id == suggestion_set_id)
        .order_by(ReviewRow.revision.desc())
        .limit(1)
    ).first()
    return None if row is None else review_public(row)
