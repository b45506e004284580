"""Ranker features that encode coding rules, and the internal splits training makes."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest

from evaluation.datasets import load_synthetic
from model.v1.analysis import NoteAnalysis
from model.v1.features import (
    _dominated,
    _inside_history,
    _modifiers,
    _outmatched,
    _subsumed,
    build_code_table,
)
from model.v1.matcher import CodeMatch
from model.v1.model import _calibration_notes
from model.v1.tokens import tokenize


def _match(code: int, start: int, end: int, n_tokens: int, coverage: float = 1.0) -> CodeMatch:
    return CodeMatch(code, coverage, 1.0, n_tokens, 0, 0, start, end, 1, coverage)


def test_features_shorter_phrase_inside_a_longer_full_match_is_dominated() -> None:
    # "type 2 diabetes mellitus" (3 tokens) inside "... with diabetic polyneuropathy" (5 tokens).
    matches = {
        1: _match(1, 10, 34, 3),
        2: _match(2, 10, 60, 5),
        3: _match(3, 100, 120, 2),  # elsewhere in the note: not dominated
        4: _match(4, 10, 70, 7, coverage=0.6),  # partial: dominates nothing
    }
    out = _dominated(matches, [1, 2, 3, 4])
    assert out == {1: 2.0}


def test_features_nothing_dominated_with_one_match() -> None:
    assert _dominated({1: _match(1, 0, 5, 2)}, [1]) == {}


def _analysis(text: str, matches: dict[int, CodeMatch]) -> NoteAnalysis:
    return NoteAnalysis(text, [], [(0, len(text))], [], "", matches)


def test_features_a_mention_inside_a_longer_one_everywhere_is_subsumed() -> None:
    text = "PMH: paroxysmal AFib. Plan: paroxysmal AFib, rate controlled. Also HTN."
    codes = [
        ("ICD-10-CM", "I48.91"),
        ("ICD-10-CM", "I48.0"),
        ("ICD-10-CM", "I10"),
        ("ICD-10-CM", "R00.0"),
    ]
    table = build_code_table(codes, {}, set())
    first = text.index("paroxysmal AFib")
    matches = {
        0: _match(0, first + 11, first + 15, 2),  # "AFib"
        1: _match(1, first, first + 15, 3),  # "paroxysmal AFib"
        2: _match(2, text.index("HTN"), text.index("HTN") + 3, 1),
        3: _match(3, first, first + 15, 4, coverage=0.6),  # partial: subsumes nothing
    }
    out = _subsumed(_analysis(text, matches), [0, 1, 2, 3], table)
    assert out == {0: (1.0, 1.0)}
    # One bare "AFib" elsewhere: the note names it on its own, so it is not subsumed.
    text2 = text + " AFib noted on telemetry."
    assert _subsumed(_analysis(text2, matches), [0, 1, 2, 3], table) == {}


def test_features_subsumed_by_another_category_is_told_apart() -> None:
    text = "Hypertensive heart disease with heart failure."
    codes = [("ICD-10-CM", "I50.9"), ("ICD-10-CM", "I11.0"), ("CPT", "99213")]
    table = build_code_table(codes, {}, set())
    inner = text.index("heart failure")
    matches = {
        0: _match(0, inner, inner + 13, 2),
        1: _match(1, 0, len(text) - 1, 5),
        2: _match(2, inner, inner + 13, 1),  # another system: never subsumed by ICD mentions
    }
    out = _subsumed(_analysis(text, matches), [0, 1, 2], table)
    assert out == {0: (0.0, 1.0)}


def test_features_a_mention_inside_a_history_source_is_flagged() -> None:
    text = "History of concussion w/o loss of consciousness, no recurrence. Cough today."
    start = text.index("concussion")
    end = text.index(", no")
    a = _analysis(
        text,
        {
            0: _match(0, start, end, 4),
            1: _match(1, text.index("Cough"), text.index("Cough") + 5, 1),
        },
    )
    a.history = {2: (2, start, end)}  # Z87.820 derived from that mention
    assert _inside_history(a, [0, 1, 2]) == {0: 1.0}
    a.history = {}
    assert _inside_history(a, [0, 1]) == {}


def test_calibration_split_keeps_a_group_together_and_falls_back_with_few_groups() -> None:
    keys = [f"template:{i % 40}" for i in range(400)]
    pick = _calibration_notes(keys, 0.2, seed=0)
    assert 0 < pick.sum() < len(keys)
    by_group: dict[str, set[bool]] = {}
    for k, p in zip(keys, pick, strict=True):
        by_group.setdefault(k, set()).add(bool(p))
    assert all(len(v) == 1 for v in by_group.values())
    # One group only: each note becomes its own group, so both sides still get notes.
    one = _calibration_notes(["template:a"] * 200, 0.2, seed=0)
    assert 0 < one.sum() < 200


def test_synthetic_notes_carry_their_template_as_group(synthetic_corpus_dir: Path) -> None:
    notes = load_synthetic(synthetic_corpus_dir, split="train")[:50]
    assert all(n.group and n.group.startswith("template:") for n in notes)
    assert len({n.group for n in notes}) > 1


def test_model_learns_how_often_a_code_is_coded_without_a_mention(trained_model_dir: Path) -> None:
    est = joblib.load(trained_model_dir / "model.joblib")
    unmatched, prior = est.stats_.unmatched, est.stats_.prior
    assert unmatched.shape == prior.shape
    assert np.all(unmatched <= prior) and np.all(unmatched >= 0)
    # E/M codes are documented by time or MDM, not named: mostly positives without a match.
    em = [est.code_index_[("CPT", c)] for c in ("99213", "99214") if ("CPT", c) in est.code_index_]
    assert any(prior[i] > 0 and unmatched[i] / prior[i] > 0.5 for i in em)


def test_evidence_repeats_find_other_whole_word_mentions() -> None:
    from model.v1.model import _distinct_spans, _repeats

    text = "HTN. Plan: HTN stable; HTNx is not it. htn again."
    first = (0, 3)
    spans = _repeats(text, *first, limit=5)
    assert [text[s:e] for s, e in spans] == ["HTN", "htn"]
    assert spans[0] == (11, 14)
    assert _repeats(text, *first, limit=1) == [(11, 14)]
    kept = _distinct_spans(text, [first, (1, 2), *spans, (30, 30)])
    assert [(s.start, s.end) for s in kept] == [first, (11, 14), spans[1]]
    assert all(text[s.start : s.end] == s.text for s in kept)


def test_classifier_reads_abbreviations_expanded_and_us_spelling() -> None:
    from model.v1.tokens import classifier_text

    out = classifier_text("Known T2DM and HTN; anaemia. Oedema of both legs. Dose 10 mg/day.")
    assert "T2DM type 2 diabetes mellitus" in out
    assert "HTN hypertension" in out
    assert "anemia" in out and "edema" in out.lower()
    assert "10 mg/day" in out  # numbers and units untouched
    assert classifier_text("") == ""


def test_without_is_kept_so_with_and_without_complications_differ() -> None:
    from model.v1.tokens import normalize_phrase

    e119 = normalize_phrase("Type 2 diabetes mellitus without complications")
    e118 = normalize_phrase("Type 2 diabetes mellitus with unspecified complications")
    assert e119 != e118
    assert "without" in e119 and "without" in normalize_phrase("DM2 w/o complications")


def test_features_planned_mention_reads_the_sentence_of_the_mention() -> None:
    from model.v1.features import planned_mention

    text = "Colonoscopy performed today. Will schedule a colonoscopy in 5 years."
    a = NoteAnalysis(text, [], [(0, 28), (29, len(text))], [], "", {})
    done = _match(0, 0, 11, 1)
    later = CodeMatch(1, 1.0, 1.0, 1, 0, 1, 45, 56, 1, 1.0)  # in the second sentence
    assert planned_mention(a, done) is False
    assert planned_mention(a, later) is True
    assert planned_mention(a, None) is False


def test_features_a_partial_match_outmatched_on_the_same_words() -> None:
    codes = [("ICD-10-CM", "E10.9"), ("ICD-10-CM", "E11.9"), ("CPT", "99213"), ("ICD-10-CM", "I10")]
    table = build_code_table(codes, {}, set())
    matches = {
        0: _match(0, 8, 33, 5, coverage=0.8),  # "DM2 without complications" for type 1
        1: _match(1, 8, 33, 5),  # the same words, all of E11.9
        2: _match(2, 8, 33, 1),  # a full match of another system does not count
        3: _match(3, 40, 52, 2, coverage=0.6),  # partial, nothing else on its words
    }
    out = _outmatched(matches, [0, 1, 2, 3], table)
    assert out == {0: pytest.approx(0.2)}


def test_features_count_the_vocabulary_words_beside_a_mention() -> None:
    text = (
        "Her medical history includes pneumonia.\n"
        "Dx: tuberculous pneumonia, resolved.\n"
        "Chronic sinus-infection follow up\n"
        "History of pneumonia"
    )
    vocab = {"tuberculous", "chronic", "follow", "history", "medical", "resolve"}
    spans = {
        0: text.index("pneumonia"),  # after "includes", a frame word: none
        1: text.index("pneumonia,"),  # after "tuberculous"; the comma ends the right side
        2: text.index("sinus"),  # "Chronic" before and "follow" after
        3: text.rindex("pneumonia"),  # "of" (a stop word) stands between: none
    }
    ends = {0: spans[0] + 9, 1: spans[1] + 9, 2: text.index(" follow"), 3: len(text)}
    matches = {c: _match(c, spans[c], ends[c], 1) for c in spans}
    analysis = NoteAnalysis(text, tokenize(text), [(0, len(text))], [], "", matches)
    out = _modifiers(analysis, [0, 1, 2, 3], vocab)
    assert out == {1: (1.0, 0.0), 2: (1.0, 1.0)}
    assert _modifiers(analysis, [0, 1, 2, 3], frozenset()) == {}


def test_features_an_abbreviation_before_a_mention_counts_once() -> None:
    text = "worsening CHF exacerbation"
    start = text.index("exacerbation")
    matches = {0: _match(0, start, len(text), 1)}
    analysis = NoteAnalysis(text, tokenize(text), [(0, len(text))], [], "", matches)
    # "CHF" expands to three words sharing its offsets: one word of the note; "worsening" is no
    # vocabulary word, so the count stops there.
    assert _modifiers(analysis, [0], {"congestive", "heart", "failure"}) == {0: (1.0, 0.0)}
