"""`Note.create` and `Span`: validation failures name the field; limits are honoured."""

from __future__ import annotations

import datetime as dt

import pytest

from model.text.note import MAX_NOTE_CHARS, Note, NoteError, NoteMeta, Span


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_note"),
        ("   \n\t ", "empty_note"),
        (b"", "empty_note"),
        (b"caf\xe9 au lait", "not_utf8"),
        (b"\xff\xfe\x00", "not_utf8"),
        ("x" * (MAX_NOTE_CHARS + 1), "note_too_long"),
        (12345, "invalid_note"),
        (None, "invalid_note"),
    ],
)
def test_bad_text_is_a_clear_error(text: object, code: str) -> None:
    with pytest.raises(NoteError) as info:
        Note.create(text)  # type: ignore[arg-type]
    assert info.value.code == code
    assert info.value.field == "text"
    assert str(info.value)


def test_non_utf8_error_names_the_byte() -> None:
    with pytest.raises(NoteError, match="not valid UTF-8 \\(byte 3\\)"):
        Note.create(b"abc\xe9")


def test_limit_is_documented_and_large_notes_are_accepted() -> None:
    assert MAX_NOTE_CHARS >= 200_000
    note = Note.create("a" * 200_000)
    assert len(note.text) == 200_000
    assert Note.create("b" * MAX_NOTE_CHARS).text[-1] == "b"
    with pytest.raises(NoteError, match="limit is 10"):
        Note.create("c" * 11, max_chars=10)


def test_utf8_bytes_and_exact_text_are_kept() -> None:
    raw = "Pt\u00e9 c/o  chest pain\r\n".encode()
    note = Note.create(raw, id=7, meta={"setting": "ed", "age": 58, "sex": "male"})
    assert note.text == "Pt\u00e9 c/o  chest pain\r\n"  # no normalisation
    assert note.id == "7"
    assert note.meta.setting == "ED" and note.meta.age == 58 and note.meta.sex == "M"


@pytest.mark.parametrize(
    ("meta", "field"),
    [
        ({"setting": "home"}, "meta.setting"),
        ({"age": -1}, "meta.age"),
        ({"age": 131}, "meta.age"),
        ({"age": "58"}, "meta.age"),
        ({"age": True}, "meta.age"),
        ({"sex": "X"}, "meta.sex"),
        ({"date_of_service": "2026-13-01"}, "meta.date_of_service"),
        ({"date_of_service": "yesterday"}, "meta.date_of_service"),
        (["outpatient"], "meta"),
    ],
)
def test_bad_meta_names_the_field(meta: object, field: str) -> None:
    with pytest.raises(NoteError) as info:
        Note.create("Cough.", meta=meta)  # type: ignore[arg-type]
    assert info.value.field == field
    assert field.split(".")[-1] in str(info.value)


def test_meta_round_trip() -> None:
    meta = NoteMeta.from_dict(
        {"setting": "Inpatient", "date_of_service": "2026-11-26", "specialty": "cardiology"}
    )
    assert meta.date_of_service == dt.date(2026, 11, 26)
    assert meta.to_dict() == {
        "setting": "inpatient",
        "specialty": "cardiology",
        "date_of_service": "2026-11-26",
    }
    assert NoteMeta.from_dict(None) == NoteMeta()


def test_spans_check_their_bounds() -> None:
    note = Note.create("Denies chest pain.")
    span = note.span(7, 17)
    assert span == Span(7, 17, "chest pain")
    assert note.text[span.start : span.end] == span.text
    assert span.to_dict() == {"start": 7, "end": 17, "text": "chest pain"}
    for start, end in [(-1, 3), (5, 4), (0, 19)]:
        with pytest.raises(ValueError, match="outside"):
            note.span(start, end)
