"""`Note` and `Span`: the text every other component points into.

Offsets are end-exclusive `[start, end)` into the exact text the caller sent. Nothing here
normalises the text, so a span's offsets are valid in the caller's copy of the note.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

#: Largest note accepted, in characters. Documented in the README.
MAX_NOTE_CHARS = 500_000

Setting = Literal["outpatient", "inpatient", "ED"]
SETTINGS: tuple[str, ...] = ("outpatient", "inpatient", "ED")
SEXES: tuple[str, ...] = ("F", "M", "U")


class NoteError(ValueError):
    """Bad note input. `field` names the offending field; `code` is stable for APIs."""

    def __init__(self, message: str, *, field: str = "text", code: str = "invalid_note") -> None:
        super().__init__(message)
        self.field = field
        self.code = code


@dataclass(frozen=True, slots=True)
class Span:
    """A character range `[start, end)` of a note, with the text it covers."""

    start: int
    end: int
    text: str

    @classmethod
    def of(cls, note_text: str, start: int, end: int) -> Span:
        """Build a span from offsets, checking they lie inside `note_text`."""
        if not (0 <= start <= end <= len(note_text)):
            raise ValueError(
                f"span [{start}, {end}) lies outside a text of {len(note_text)} characters"
            )
        return cls(start, end, note_text[start:end])

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class NoteMeta:
    """Optional encounter metadata."""

    setting: str | None = None
    specialty: str | None = None
    age: int | None = None
    sex: str | None = None
    date_of_service: dt.date | None = None
    note_type: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> NoteMeta:
        """Parse metadata, raising `NoteError` naming the bad field."""
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise NoteError("meta must be an object", field="meta")
        setting = raw.get("setting")
        if setting is not None:
            norm = {s.lower(): s for s in SETTINGS}.get(str(setting).lower())
            if norm is None:
                raise NoteError(
                    f"meta.setting must be one of {', '.join(SETTINGS)}; got {setting!r}",
                    field="meta.setting",
                )
            setting = norm
        age = raw.get("age")
        if age is not None and (
            isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130
        ):
            raise NoteError(f"meta.age must be an integer 0-130; got {age!r}", field="meta.age")
        sex = raw.get("sex")
        if sex is not None:
            sex = str(sex).upper()[:1]
            if sex not in SEXES:
                raise NoteError(
                    f"meta.sex must be one of F, M, U; got {raw.get('sex')!r}", field="meta.sex"
                )
        dos = raw.get("date_of_service")
        if dos is not None and not isinstance(dos, dt.date):
            try:
                dos = dt.date.fromisoformat(str(dos))
            except ValueError:
                raise NoteError(
                    f"meta.date_of_service must be an ISO date (YYYY-MM-DD); got {dos!r}",
                    field="meta.date_of_service",
                ) from None
        specialty = raw.get("specialty")
        note_type = raw.get("note_type")
        return cls(
            setting=setting,
            specialty=None if specialty is None else str(specialty),
            age=age,
            sex=sex,
            date_of_service=dos,
            note_type=None if note_type is None else str(note_type),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("setting", "specialty", "age", "sex", "note_type"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.date_of_service is not None:
            out["date_of_service"] = self.date_of_service.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class Note:
    """A physician note: an id, its exact text and optional encounter metadata."""

    id: str
    text: str
    meta: NoteMeta = field(default_factory=NoteMeta)

    @classmethod
    def create(
        cls,
        text: str | bytes,
        *,
        id: str = "note",
        meta: dict[str, Any] | NoteMeta | None = None,
        max_chars: int = MAX_NOTE_CHARS,
    ) -> Note:
        """Validate and build a note. Raises `NoteError` with a clear message."""
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NoteError(
                    f"note text is not valid UTF-8 (byte {exc.start})", code="not_utf8"
                ) from None
        if not isinstance(text, str):
            raise NoteError(f"note text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise NoteError("note text is empty", code="empty_note")
        if len(text) > max_chars:
            raise NoteError(
                f"note text has {len(text)} characters; the limit is {max_chars}",
                code="note_too_long",
            )
        parsed = meta if isinstance(meta, NoteMeta) else NoteMeta.from_dict(meta)
        return cls(id=str(id), text=text, meta=parsed)

    def span(self, start: int, end: int) -> Span:
        return Span.of(self.text, start, end)
