"""Note text primitives and analysis: notes, spans, sections, sentences, context."""

from model.text.note import MAX_NOTE_CHARS, Note, NoteError, Span

__all__ = ["MAX_NOTE_CHARS", "Note", "NoteError", "Span"]
