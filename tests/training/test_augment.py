"""Phrasing augmentation (training/augment.py) and the default corpus's version check."""

from __future__ import annotations

import json
from pathlib import Path

from evaluation.datasets import GoldCode, LabeledNote
from model.codesets import get_catalog
from training.augment import augment_phrasings, code_names
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
