"""Note text primitives and analysis: notes, spans, sections, sentences, context.

`model.text.spacy_context` (the spaCy pipeline face of the context rules) is not re-exported
here because importing spaCy takes seconds.
"""

from model.text.context import ContextAnalyzer, ContextFlags
from model.text.note import MAX_NOTE_CHARS, Note, NoteError, NoteMeta, Span
from model.text.sections import Section, detect_sections, section_at
from model.text.sentences import split_sentences

__all__ = [
    "MAX_NOTE_CHARS",
    "ContextAnalyzer",
    "ContextFlags",
    "Note",
    "NoteError",
    "NoteMeta",
    "Section",
    "Span",
    "detect_sections",
    "section_at",
    "split_sentences",
]
