"""Create and read stored suggestion sets."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from model.suggestion import SYSTEMS, Suggester
from model.text.note import MAX_NOTE_CHARS, Note, NoteError
from serving.db.models import NoteRow, SuggestionSetRow, as_utc, new_uuid
from serving.errors import InvalidInput, NotFound, note_error
from serving.schemas.suggestions import SuggestedCodePublic, SuggestionSetPublic

logger = logging.getLogger(__name__)


class Actor(Protocol):
    """Who is writing: anything with a `name` (the authenticated user)."""

    @property
    def name(self) -> str: ...


def _systems(systems: Sequence[str] | None) -> list[str]:
    if systems is None:
        return list(SYSTEMS)
    out: list[str] = []
    for i, system in enumerate(systems):
        if system not in SYSTEMS:
            raise InvalidInput(
                f"unknown code system {system!r}; allowed: {', '.join(SYSTEMS)}",
                code="unknown_system",
                field=f"systems[{i}]",
            )
        if system not in out:
            out.append(system)
    if not out:
        raise InvalidInput("systems must name at least one code system", field="systems")
    return out


def create_suggestion_set(
    session: Session,
    *,
    suggester: Suggester,
    text: str,
    meta: Mapping[str, Any] | None,
    systems: Sequence[str] | None,
    top_k: int,
    user: Actor,
    source: str = "api",
    max_chars: int = MAX_NOTE_CHARS,
) -> SuggestionSetPublic:
    """Validate the note, run the model, store note + suggestion set, return the public view.

    Raises `InvalidInput` / `PayloadTooLarge` naming the bad field. Does not commit.
    """
    wanted = _systems(systems)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 200:
        raise InvalidInput(f"top_k must be an integer 1-200; got {top_k!r}", field="top_k")
    if isinstance(text, str) and "\x00" in text:
        raise InvalidInput(
            f"note text contains a NUL character at offset {text.index(chr(0))}; send plain text",
            code="invalid_characters",
            field="text",
        )
    try:
        note = Note.create(text, meta=dict(meta) if meta is not None else None, max_chars=max_chars)
    except NoteError as exc:
        raise note_error(exc) from None

    # The model runs before anything is written, so a write transaction (on SQLite: the
    # database's one write lock) is held only for the two inserts, never during inference.
    note = Note(id=new_uuid(), text=note.text, meta=note.meta)
    start = time.perf_counter()
    suggestion = suggester.suggest(note, systems=wanted, top_k=top_k)
    latency_ms = (time.perf_counter() - start) * 1000.0
    codes = [c.to_dict() for c in suggestion.codes]

    session.add(
        NoteRow(
            id=note.id,
            text=note.text,
            text_sha256=hashlib.sha256(note.text.encode("utf-8")).hexdigest(),
            meta_json=note.meta.to_dict(),
            source=source,
            created_by=user.name,
        )
    )
    session.flush()
    row = SuggestionSetRow(
        note_id=note.id,
        model_version=suggestion.model_version,
        systems_json=wanted,
        top_k=top_k,
        codes_json=codes,
        latency_ms=round(latency_ms, 3),
        created_by=user.name,
    )
    session.add(row)
    session.flush()
    logger.info(
        "suggestion set %s: %d codes, model %s, %.1f ms",
        row.id,
        len(codes),
        row.model_version,
        latency_ms,
    )
    return to_public(row)


def to_public(row: SuggestionSetRow, review: Any = None) -> SuggestionSetPublic:
    return SuggestionSetPublic(
        id=row.id,
        note_id=row.note_id,
        model_version=row.model_version,
        systems=list(row.systems_json),
        top_k=row.top_k,
        codes=[SuggestedCodePublic.model_validate(c) for c in row.codes_json],
        latency_ms=row.latency_ms,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
        review=review,
    )


def get_row(session: Session, suggestion_set_id: str) -> SuggestionSetRow:
    """The stored row, or `NotFound` naming the id."""
    row = session.get(SuggestionSetRow, suggestion_set_id)
    if row is None:
        raise NotFound(
            f"no suggestion set with id {suggestion_set_id!r}",
            code="suggestion_set_not_found",
            field="id",
        )
    return row


def get_suggestion_set(session: Session, id: str) -> SuggestionSetPublic:
    """The stored suggestion set with its latest review (if any); `NotFound` otherwise."""
    from serving.services.reviews import latest_review

    row = get_row(session, id)
    return to_public(row, review=latest_review(session, id))
