"""Phrasing and excerpt augmentation (training/augment.py) and the default corpus's version
check."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from evaluation.datasets import GoldCode, LabeledNote
from model.codesets import get_catalog
from training.augment import augment_phrasings, code_names, excerpt_notes
from training.default import corpus_version

TEXT = "Hyperlipidemia, on a statin. Plan: recheck lipids for hyperlipidemia. Time 25 minutes."
NAMES = {("ICD-10-CM", "E78.5"): ["Hyperlipidemia", "elevated lipids"]}


def _note(codes: tuple[GoldCode, ...], text: str = TEXT) -> LabeledNote:
    return LabeledNote(id="n1", text=text, meta={"setting": "outpatient"}, codes=codes)


def test_augment_renames_every_mention_of_a_chosen_code_with_another_name() -> None:
    first = TEXT.index("Hyperlipidemia")
    second = TEXT.index("hyperlipidemia")
    note = _note((GoldCode("ICD-10-CM", "E78.5", ((first, first + 14), (second, second + 14))),))
    (out,) = augment_phrasings([note], NAMES, rate=1.0, seed=0)
    assert out.text == (
        "Elevated lipids, on a statin. Plan: recheck lipids for elevated lipids. Time 25 minutes."
    )
    assert out.gold_set() == note.gold_set()
    assert out.codes[0].evidence == ()  # old offsets would point at the wrong words
    # Deterministic per seed and note id; rate 0 changes nothing.
    assert augment_phrasings([note], NAMES, rate=1.0, seed=0)[0].text == out.text
    assert augment_phrasings([note], NAMES, rate=0.0, seed=0)[0] is note


def test_augment_leaves_shared_spans_skipped_codes_and_unlabelled_notes_alone() -> None:
    first = TEXT.index("Hyperlipidemia")
    span = (first, first + 14)
    shared = _note(
        (GoldCode("ICD-10-CM", "E78.5", (span,)), GoldCode("ICD-10-CM", "E78.2", (span,)))
    )
    assert augment_phrasings([shared], NAMES, rate=1.0, seed=0)[0].text == TEXT
    skipped = _note((GoldCode("ICD-10-CM", "E78.5", (span,)),))
    out = augment_phrasings([skipped], NAMES, rate=1.0, seed=0, skip_codes=frozenset({"E78.5"}))
    assert out[0].text == TEXT
    no_offsets = _note((GoldCode("ICD-10-CM", "E78.5"),))
    assert augment_phrasings([no_offsets], NAMES, rate=1.0, seed=0)[0].text == TEXT


def test_code_names_come_from_the_catalog_and_lexicon_without_unspecified() -> None:
    names = code_names(get_catalog())
    e785 = [n.lower() for n in names[("ICD-10-CM", "E78.5")]]
    assert "hyperlipidemia" in e785  # official description minus ", unspecified"
    assert "elevated lipids" in e785  # project lexicon
    assert all("unspecified" not in n for n in e785)
    assert ("HCPCS", "G0439") in names  # HCPCS synonym rows keep their system


def test_corpus_version_reads_stats_json(tmp_path: Path) -> None:
    assert corpus_version(tmp_path) is None
    (tmp_path / "stats.json").write_text(json.dumps({"generator_version": "1.2"}))
    assert corpus_version(tmp_path) == "1.2"
    (tmp_path / "stats.json").write_text("not json")
    assert corpus_version(tmp_path) is None


VISIT = (
    "Office visit, established patient.\n"
    "Hypertension, stable on lisinopril.\n"
    "\n"
    "Type 2 diabetes without complications; A1c 7.1.\n"
    "Hypertension again noted at the end.\n"
    "Total time 25 minutes."
)


def _span(text: str, words: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(words, start + 1)
    return start, start + len(words)


def test_excerpts_keep_the_codes_mentioned_inside_with_shifted_offsets() -> None:
    codes = (
        GoldCode(
            "ICD-10-CM", "I10", (_span(VISIT, "Hypertension"), _span(VISIT, "Hypertension", 1))
        ),
        GoldCode("ICD-10-CM", "E11.9", (_span(VISIT, "Type 2 diabetes without complications"),)),
        # an E/M level rests on the whole visit: kept only when all of its evidence is inside
        GoldCode("CPT", "99213", (_span(VISIT, "established patient"), _span(VISIT, "25 minutes"))),
    )
    note = LabeledNote(id="v1", text=VISIT, meta={"setting": "outpatient"}, codes=codes, group="t1")
    seen: set[str] = set()
    for seed in range(60):
        out = excerpt_notes([note], rate=1.0, seed=seed, whole_codes=frozenset({"99213"}))
        assert len(out) == 1
        index, ex = out[0]
        assert index == 0 and ex.id == "v1#excerpt" and ex.group == "t1" and ex.meta == note.meta
        assert ex.text in VISIT and ex.text.strip() == ex.text and ex.codes
        for g in ex.codes:
            assert g.evidence
            source = next(c for c in codes if c.code == g.code)
            for s, e in g.evidence:  # offsets into the excerpt, naming the same words
                assert any(VISIT[s2:e2] == ex.text[s:e] for s2, e2 in source.evidence)
        if any(g.code == "99213" for g in ex.codes):
            assert "established patient" in ex.text and "25 minutes" in ex.text
        seen.add(ex.text)
    assert len(seen) > 3  # windows vary with the seed


def test_excerpts_need_offsets_and_follow_the_rate() -> None:
    no_offsets = LabeledNote(id="a", text=VISIT, codes=(GoldCode("ICD-10-CM", "I10"),))
    assert excerpt_notes([no_offsets], rate=1.0, seed=0) == []
    notes = [
        LabeledNote(id=f"n{i}", text=VISIT, codes=(GoldCode("ICD-10-CM", "I10", ((35, 47),)),))
        for i in range(200)
    ]
    assert excerpt_notes(notes, rate=0.0, seed=0) == []
    assert 20 < len(excerpt_notes(notes, rate=0.25, seed=0)) < 80
    # a case report's paragraph is no short note: too long a line gives no excerpt
    paragraph = "Hypertension. " + "The patient was seen again and examined. " * 20
    report = LabeledNote(id="r", text=paragraph, codes=(GoldCode("ICD-10-CM", "I10", ((0, 12),)),))
    assert excerpt_notes([report], rate=1.0, seed=0) == []
    assert excerpt_notes([report], rate=1.0, seed=0, max_chars=2000)


def test_v1_adds_rewrites_and_excerpts_beside_the_notes_as_written() -> None:
    """Rewritten notes no longer replace the notes as written: those stay (and alone are
    calibrated on), and every added note keeps its note's group so cross-fitting keeps them
    in one fold."""
    from training.train import DEFAULT_CONFIG, augmented_notes

    first, second = TEXT.index("Hyperlipidemia"), TEXT.index("hyperlipidemia")
    spans = ((first, first + 14), (second, second + 14))
    notes = [
        replace(_note((GoldCode("ICD-10-CM", "E78.5", spans),)), id=f"n{k}", source="codiesp")
        for k in range(40)
    ]
    notes.append(replace(notes[0], id="t1", group="template:a", source="synthetic"))
    config = {**DEFAULT_CONFIG, "phrasing_augment": 1.0, "excerpt_augment": 0.0}
    added = augmented_notes(notes, catalog=get_catalog(), config=config, seed=3)
    assert len(added) == len(notes)  # every note had a code to rename
    for i, note in added:
        origin = notes[i]
        assert note.id == f"{origin.id}#rephrased" and note.text != origin.text
        assert note.group == (origin.group or origin.id) and note.source == origin.source
        assert note.gold_set() == origin.gold_set()
    assert notes[0].text == TEXT  # the notes as written are untouched
    # Without evidence offsets nothing can be rewritten or excerpted.
    bare = [replace(n, codes=(GoldCode("ICD-10-CM", "E78.5"),)) for n in notes]
    assert augmented_notes(bare, catalog=get_catalog(), config=config, seed=3) == []
    # Excerpts join them, made from the notes as written.
    both = augmented_notes(
        notes, catalog=get_catalog(), config={**config, "excerpt_augment": 1.0}, seed=3
    )
    excerpts = [(i, n) for i, n in both if n.id.endswith("#excerpt")]
    assert excerpts and all(notes[i].text.find(n.text) >= 0 for i, n in excerpts)
