"""Sentence splitting: abbreviations, decimals, vitals, bullets, list items, span invariants."""

from __future__ import annotations

import pytest

from model.text.note import Span
from model.text.sentences import split_sentences
from tests.model.text.samples import BULLET_NOTE, CODIESP_STYLE


def texts(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)]


def assert_spans_valid(text: str, spans: list[Span]) -> None:
    previous_end = 0
    for s in spans:
        assert text[s.start : s.end] == s.text
        assert s.text and s.text == s.text.strip()
        assert s.start >= previous_end
        previous_end = s.end
    # Nothing but whitespace is left out.
    covered = "".join(s.text for s in spans)
    assert "".join(text.split()) == "".join(covered.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Seen by Dr. Smith today. Stable.", ["Seen by Dr. Smith today.", "Stable."]),
        (
            "Metformin 500 mg b.i.d. for diabetes. Stable.",
            ["Metformin 500 mg b.i.d. for diabetes.", "Stable."],
        ),
        ("Take aspirin, e.g. Bayer, daily.", ["Take aspirin, e.g. Bayer, daily."]),
        ("Potassium 7.2 today. Repeat.", ["Potassium 7.2 today.", "Repeat."]),
        ("BP 120/80. Pulse 72. Temp 37.5C.", ["BP 120/80.", "Pulse 72.", "Temp 37.5C."]),
        ("Is he ok? Yes! Good.", ["Is he ok?", "Yes!", "Good."]),
        ("Mr. Jones vs. Mrs. Smith.", ["Mr. Jones vs. Mrs. Smith."]),
        ("Dose b.i.d. Patient stable.", ["Dose b.i.d.", "Patient stable."]),
        ("Pain (see above.) Next line", ["Pain (see above.)", "Next line"]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        ("Pt. is stable.", ["Pt. is stable."]),
    ],
)
def test_punctuation_and_abbreviations(text: str, expected: list[str]) -> None:
    spans = split_sentences(text)
    assert [s.text for s in spans] == expected
    assert_spans_valid(text, spans)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no fever\nno chills", ["no fever", "no chills"]),
        ("no fever\r\nno chills\rcough", ["no fever", "no chills", "cough"]),
        ("- fever\n- chills\n* cough", ["- fever", "- chills", "* cough"]),
        ("• fatigue • malaise ▪ nausea", ["• fatigue", "• malaise", "▪ nausea"]),
        ("1. Hypertension. Continue lisinopril.", ["1. Hypertension.", "Continue lisinopril."]),
        ("1. HTN 2. DM 3. CKD", ["1. HTN", "2. DM", "3. CKD"]),
        ("A/P: 1) HTN 2) DM", ["A/P:", "1) HTN", "2) DM"]),
        ("Temp was 98. Given 2. Then ok.", ["Temp was 98.", "Given 2.", "Then ok."]),
        ("Plan:\n\n\nrest", ["Plan:", "rest"]),
    ],
)
def test_lines_bullets_and_list_items(text: str, expected: list[str]) -> None:
    spans = split_sentences(text)
    assert [s.text for s in spans] == expected
    assert_spans_valid(text, spans)


@pytest.mark.parametrize("text", ["", " ", "\n\n", " \t \r\n "])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_single_word_and_no_final_punctuation() -> None:
    assert texts("cough") == ["cough"]
    assert texts("  cough  ") == ["cough"]
    assert split_sentences("  cough  ")[0] == Span(2, 7, "cough")


def test_codiesp_style_one_sentence_per_line() -> None:
    spans = split_sentences(CODIESP_STYLE)
    assert_spans_valid(CODIESP_STYLE, spans)
    assert [s.text for s in spans] == CODIESP_STYLE.strip().split("\n")


def test_bullet_note() -> None:
    spans = split_sentences(BULLET_NOTE)
    assert_spans_valid(BULLET_NOTE, spans)
    got = [s.text for s in spans]
    assert "Denies shortness of breath, nausea or diaphoresis." in got
    assert "- Hypertension" in got
    assert "Meds: lisinopril 10 mg daily, metformin 500 mg b.i.d." in got
    assert "1. Chest pain - possible unstable angina; rule out MI with serial troponins." in got


def test_real_codiesp_lines(codiesp_texts: list[str]) -> None:
    for text in codiesp_texts:
        spans = split_sentences(text)
        assert_spans_valid(text, spans)
        lines = [line for line in text.splitlines() if line.strip()]
        assert len(spans) >= len(lines)  # every line break ends a sentence
