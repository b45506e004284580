"""The spaCy face: same flags as the pure-Python analyser, on a blank English pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

spacy = pytest.importorskip("spacy")

from model.text.context import FLAG_NAMES, ContextAnalyzer  # noqa: E402
from model.text.sentences import split_sentences  # noqa: E402
from model.text.spacy_context import (  # noqa: E402
    CONTEXT_FACTORY,
    SENTENCIZER_FACTORY,
    build_pipeline,
)
from tests.model.text.samples import BULLET_NOTE, CODIESP_STYLE  # noqa: E402

TERMS = [
    "chest pain",
    "shortness of breath",
    "hypertension",
    "type 2 diabetes mellitus",
    "appendectomy",
    "breast cancer",
    "fever",
    "cough",
    "fatigue",
    "edema",
    "unstable angina",
    "symptoms",
    "mi",
    "pe",
    "pneumonia",
    "dyspnea",
    "heart failure",
    "colon cancer",
    "pulmonary thromboembolism",
    "consolidation",
]


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return build_pipeline(entity_patterns=[{"label": "PROBLEM", "pattern": t} for t in TERMS])


def test_pipeline_is_blank_english_with_the_components(nlp: spacy.language.Language) -> None:
    assert nlp.lang == "en"
    assert nlp.pipe_names == [SENTENCIZER_FACTORY, "entity_ruler", CONTEXT_FACTORY]
    assert build_pipeline().pipe_names == [SENTENCIZER_FACTORY, CONTEXT_FACTORY]


@pytest.mark.parametrize(
    ("text", "ent", "flag"),
    [
        ("Patient denies chest pain.", "chest pain", "negated"),
        ("PE was ruled out.", "PE", "ruled_out"),
        ("Mother has breast cancer.", "breast cancer", "family"),
        ("History of MI.", "MI", "historical"),
        ("Return if symptoms worsen.", "symptoms", "hypothetical"),
        ("Possible pneumonia.", "pneumonia", "uncertain"),
        ("Rule out PE.", "PE", "uncertain"),
    ],
)
def test_extensions_are_set(nlp: spacy.language.Language, text: str, ent: str, flag: str) -> None:
    doc = nlp(text)
    (span,) = [e for e in doc.ents if e.text == ent]
    assert getattr(span._, flag) is True
    others = {n for n in FLAG_NAMES if getattr(span._, n)} - {flag}
    assert others <= {"negated"}  # ruled_out implies negated
    for start, end in span._.context_cues:
        assert 0 <= start < end <= len(text)


@pytest.mark.parametrize("text", [BULLET_NOTE, CODIESP_STYLE])
def test_same_flags_as_the_pure_python_api(nlp: spacy.language.Language, text: str) -> None:
    doc = nlp(text)
    assert len(doc.ents) >= 6
    mentions = [(e.start_char, e.end_char) for e in doc.ents]
    expected = ContextAnalyzer().analyze(text, mentions)
    for ent, flags in zip(doc.ents, expected, strict=True):
        assert text[ent.start_char : ent.end_char] == ent.text
        for name in FLAG_NAMES:
            assert getattr(ent._, name) == getattr(flags, name), (ent.text, name)
        assert ent._.context_cues == tuple((c.start, c.end) for c in flags.cues)


def test_sentencizer_follows_split_sentences(nlp: spacy.language.Language) -> None:
    doc = nlp(BULLET_NOTE)
    ours = [s.text for s in split_sentences(BULLET_NOTE)]
    theirs = [s.text.strip() for s in doc.sents if s.text.strip()]
    assert theirs == ours


def test_component_uses_a_rules_file(tmp_path: Path) -> None:
    rules = {
        "version": "t",
        "groups": [{"category": "uncertain", "direction": "pre", "cues": ["maybe"]}],
    }
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules), "utf-8")
    nlp = build_pipeline(path, entity_patterns=[{"label": "P", "pattern": "flu"}])
    (ent,) = nlp("Maybe flu. Denies flu.").ents[:1]
    assert ent._.uncertain
    second = nlp("Maybe flu. Denies flu.").ents[1]
    assert not second._.negated  # "denies" is not in this rule file


def test_doc_without_ents_and_empty_doc(nlp: spacy.language.Language) -> None:
    assert list(nlp("Nothing to see.").ents) == []
    assert len(nlp("")) == 0


def test_bad_rules_fail_when_the_pipeline_is_built(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 1, "groups": [{"category": "x", "cues": ["a"]}]}))
    with pytest.raises(ValueError, match="category is 'x'"):
        build_pipeline(path)


def test_overlapping_mentions_in_a_span_group() -> None:
    nlp = build_pipeline(spans_key="mentions")
    doc = nlp.make_doc("Family history of colon cancer. Denies fever.")
    doc.spans["mentions"] = [
        doc.char_span(0, 30),  # "Family history of colon cancer"
        doc.char_span(18, 30),  # "colon cancer"
        doc.char_span(39, 44),  # "fever"
    ]
    for _, component in nlp.pipeline:
        doc = component(doc)
    whole, cancer, fever = doc.spans["mentions"]
    assert whole._.family and cancer._.family
    assert fever._.negated and not cancer._.negated
