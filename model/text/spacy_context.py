"""spaCy face of the context analyser: the same rules, as pipeline components.

Importing this module registers two factories:

* `chartcoder_sentencizer`: sets sentence starts from `model.text.sentences.split_sentences`
  (line breaks, bullets, abbreviation-aware punctuation), so that spaCy sees the same sentences
  as the pure-Python API;
* `chartcoder_context`: runs `ContextAnalyzer` over `doc.ents` (and over `doc.spans[spans_key]`
  when the `spans_key` setting names a span group, which may overlap) and sets `Span._.negated`,
  `._.historical`, `._.family`, `._.hypothetical`, `._.uncertain`, `._.ruled_out` and
  `._.context_cues` (tuple of `(start_char, end_char)` of the cues that fired).

`build_pipeline()` returns `spacy.blank("en")` with both (and, optionally, an entity ruler).
No trained spaCy model is needed or downloaded.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.tokens import Span as SpacySpan

from model.text.context import FLAG_NAMES, ContextAnalyzer
from model.text.note import Span
from model.text.sentences import split_sentences

CONTEXT_FACTORY = "chartcoder_context"
SENTENCIZER_FACTORY = "chartcoder_sentencizer"


def register_extensions() -> None:
    """Register the `Span._` attributes the context component sets (idempotent)."""
    for name in FLAG_NAMES:
        if not SpacySpan.has_extension(name):
            SpacySpan.set_extension(name, default=False)
    if not SpacySpan.has_extension("context_cues"):
        SpacySpan.set_extension("context_cues", default=())


class ChartcoderSentencizer:
    """Sentence boundaries from `split_sentences`."""

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        token_starts = [token.idx for token in doc]
        starts = set()
        for sentence in split_sentences(doc.text):
            i = bisect.bisect_left(token_starts, sentence.start)
            if i < len(doc):
                starts.add(i)
        for i, token in enumerate(doc):
            token.is_sent_start = i == 0 or i in starts
        return doc


class ChartcoderContext:
    """Sets context attributes on `doc.ents` with `ContextAnalyzer`."""

    def __init__(
        self, nlp: Language, name: str, rules: str | None = None, spans_key: str | None = None
    ) -> None:
        register_extensions()
        self.name = name
        self.spans_key = spans_key
        self.analyzer = ContextAnalyzer(rules)

    def __call__(self, doc: Doc) -> Doc:
        ents = list(doc.ents)
        if self.spans_key is not None and self.spans_key in doc.spans:
            ents.extend(doc.spans[self.spans_key])
        if not ents:
            return doc
        sentences = None
        if doc.has_annotation("SENT_START"):
            sentences = [Span(s.start_char, s.end_char, s.text) for s in doc.sents]
        mentions = [(ent.start_char, ent.end_char) for ent in ents]
        for ent, flags in zip(
            ents, self.analyzer.analyze(doc.text, mentions, sentences=sentences), strict=True
        ):
            for name in FLAG_NAMES:
                setattr(ent._, name, getattr(flags, name))
            ent._.context_cues = tuple((c.start, c.end) for c in flags.cues)
        return doc


@Language.factory(SENTENCIZER_FACTORY)
def make_sentencizer(nlp: Language, name: str) -> ChartcoderSentencizer:
    return ChartcoderSentencizer()


@Language.factory(CONTEXT_FACTORY, default_config={"rules": None, "spans_key": None})
def make_context(
    nlp: Language, name: str, rules: str | None, spans_key: str | None
) -> ChartcoderContext:
    return ChartcoderContext(nlp, name, rules, spans_key)


def build_pipeline(
    rules: str | Path | None = None,
    *,
    entity_patterns: Iterable[Mapping[str, Any]] | None = None,
    spans_key: str | None = None,
) -> Language:
    """Blank English pipeline: chartcoder sentencizer, optional entity ruler, context.

    `rules` is a path to a context rule file (default: the packaged one). `entity_patterns`
    are spaCy `EntityRuler` patterns (matched on lower-cased text), handy to tag mentions
    without a trained model. `spans_key` names a span group (possibly overlapping mentions)
    to mark as well as `doc.ents`.
    """
    nlp = spacy.blank("en")
    nlp.add_pipe(SENTENCIZER_FACTORY)
    if entity_patterns is not None:
        ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
        ruler.add_patterns([dict(p) for p in entity_patterns])  # type: ignore[attr-defined]
    config = {"rules": None if rules is None else str(rules), "spans_key": spans_key}
    nlp.add_pipe(CONTEXT_FACTORY, config=config)
    return nlp
