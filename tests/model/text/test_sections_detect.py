"""Section detection: header styles, abbreviations, inline headers, missing headers, coverage."""

from __future__ import annotations

import pytest

from model.text.sections import (
    NO_SECTION,
    SECTION_NAMES,
    Section,
    detect_sections,
    load_section_rules,
    section_at,
)
from tests.model.text.samples import BULLET_NOTE, CODIESP_STYLE


def names(text: str) -> list[str]:
    return [s.name for s in detect_sections(text)]


def assert_covers(text: str, sections: list[Section]) -> None:
    assert sections, "at least one section"
    assert sections[0].start == 0
    assert sections[-1].end == len(text)
    for a, b in zip(sections, sections[1:], strict=False):
        assert a.end == b.start
    for s in sections:
        assert s.start <= s.content_start <= s.end
        if s.header is not None:
            assert text[s.header.start : s.header.end] == s.header.text
            assert s.start <= s.header.start < s.header.end <= s.content_start


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("CC", "chief_complaint"),
        ("Chief Complaint", "chief_complaint"),
        ("Reason for visit", "chief_complaint"),
        ("HPI", "hpi"),
        ("History of Present Illness", "hpi"),
        ("PMH", "pmh"),
        ("PMHx", "pmh"),
        ("Past Medical History", "pmh"),
        ("PSH", "psh"),
        ("Past Surgical History", "psh"),
        ("FHx", "family_history"),
        ("FH", "family_history"),
        ("Family History", "family_history"),
        ("SHx", "social_history"),
        ("Social History", "social_history"),
        ("Meds", "medications"),
        ("Medications", "medications"),
        ("Home medications", "medications"),
        ("Discharge Medications", "discharge_medications"),
        ("Allergies", "allergies"),
        ("ROS", "ros"),
        ("Review of Systems", "ros"),
        ("PE", "physical_exam"),
        ("Physical Exam", "physical_exam"),
        ("Physical Examination", "physical_exam"),
        ("Vitals", "vitals"),
        ("Vital signs", "vitals"),
        ("Labs", "labs"),
        ("Laboratory data", "labs"),
        ("Imaging", "imaging"),
        ("Assessment", "assessment"),
        ("Plan", "plan"),
        ("A/P", "assessment_plan"),
        ("A&P", "assessment_plan"),
        ("Assessment and Plan", "assessment_plan"),
        ("Assessment & Plan", "assessment_plan"),
        ("Impression", "impression"),
        ("Dx", "diagnoses"),
        ("Discharge Diagnoses", "discharge_diagnoses"),
        ("Hospital Course", "hospital_course"),
        ("Procedures", "procedures"),
        ("Hx", "history"),
    ],
)
@pytest.mark.parametrize("style", ["{h}: text here", "{H}: text here", "{l}:text here", "{h} : x"])
def test_header_with_colon_at_line_start(header: str, expected: str, style: str) -> None:
    line = style.format(h=header, H=header.upper(), l=header.lower())
    text = f"Intro line.\n{line}\nNext line."
    sections = detect_sections(text)
    assert_covers(text, sections)
    assert [s.name for s in sections] == [NO_SECTION, expected]
    header_span = sections[1].header
    assert header_span is not None
    assert header_span.text.lower().split() == header.lower().split()


@pytest.mark.parametrize(
    "text",
    [
        "HISTORY OF PRESENT ILLNESS\n45 yo man with cough.\nMEDICATIONS\naspirin",
        "History of present illness\n45 yo man with cough.\nMedications\naspirin",
        "HPI 45 yo man with cough.\nMEDICATIONS aspirin",
    ],
)
def test_header_without_colon(text: str) -> None:
    sections = detect_sections(text)
    assert_covers(text, sections)
    assert [s.name for s in sections] == ["hpi", "medications"]


def test_inline_capitalised_header_splits_the_line() -> None:
    text = "Lungs clear, no edema. ASSESSMENT AND PLAN: 1. Pneumonia, start antibiotics."
    sections = detect_sections(text)
    assert_covers(text, sections)
    assert [s.name for s in sections] == [NO_SECTION, "assessment_plan"]
    assert sections[1].header is not None and sections[1].header.text == "ASSESSMENT AND PLAN"
    assert text[sections[1].content_start :].startswith(" 1. Pneumonia")


def test_inline_title_case_header_after_a_sentence() -> None:
    text = "CC: cough. HPI: three days of cough. Plan: rest."
    assert names(text) == ["chief_complaint", "hpi", "plan"]


def test_inline_lower_case_phrase_is_not_a_header() -> None:
    text = "He reviewed the plan: rest and fluids. His exam: normal."
    assert names(text) == [NO_SECTION]


@pytest.mark.parametrize(
    "text",
    [
        "Dx:\nPE\nDVT",  # "PE" alone on its line is a diagnosis, not the physical exam
        "PE was ruled out by CT.",  # no colon: pulmonary embolism, not a header
        "History of MI in 2010.",
        "Social worker consulted.",
        "Family was at the bedside.",
    ],
)
def test_ambiguous_phrases_need_a_colon(text: str) -> None:
    assert "physical_exam" not in names(text)
    assert "history" not in names(text)
    assert "social_history" not in names(text)
    assert "family_history" not in names(text)


def test_no_headers_is_one_none_section() -> None:
    text = "Patient is a 45 yo man with cough.\nHe denies fever."
    sections = detect_sections(text)
    assert sections == [Section(NO_SECTION, None, 0, len(text), 0)]


def test_empty_text_has_one_empty_section() -> None:
    assert detect_sections("") == [Section(NO_SECTION, None, 0, 0, 0)]


def test_bullets_and_markdown_before_headers() -> None:
    text = "- Allergies: none\n**Plan:** rest\n## Assessment\nviral URI\n"
    sections = detect_sections(text)
    assert_covers(text, sections)
    assert [s.name for s in sections] == ["allergies", "plan", "assessment"]
    assert sections[1].start == text.index("**Plan")  # section opens at the line start
    assert text[sections[1].content_start :].startswith(" rest")


def test_bullet_note_sections() -> None:
    sections = detect_sections(BULLET_NOTE)
    assert_covers(BULLET_NOTE, sections)
    assert [s.name for s in sections] == [
        "chief_complaint",
        "hpi",
        "pmh",
        "psh",
        "family_history",
        "social_history",
        "medications",
        "allergies",
        "ros",
        "physical_exam",
        "assessment_plan",
    ]


def test_codiesp_style_sections() -> None:
    sections = detect_sections(CODIESP_STYLE)
    assert_covers(CODIESP_STYLE, sections)
    assert [s.name for s in sections] == [NO_SECTION, "physical_exam", "labs", "family_history"]


def test_real_codiesp_texts_are_covered(codiesp_texts: list[str]) -> None:
    for text in codiesp_texts:
        assert_covers(text, detect_sections(text))


def test_section_at_finds_the_holding_section() -> None:
    sections = detect_sections(BULLET_NOTE)
    offset = BULLET_NOTE.index("breast cancer")
    assert section_at(sections, offset).name == "family_history"
    assert section_at(sections, 0).name == "chief_complaint"
    assert section_at(sections, len(BULLET_NOTE)).name == "assessment_plan"
    for s in sections:
        assert section_at(sections, s.start) is s


def test_section_at_rejects_offsets_outside() -> None:
    sections = detect_sections("CC: cough")
    with pytest.raises(ValueError, match="outside"):
        section_at(sections, 99)
    with pytest.raises(ValueError, match="no sections"):
        section_at([], 0)


def test_packaged_vocabulary_uses_only_canonical_names() -> None:
    vocab = load_section_rules()
    assert set(vocab.names.values()) <= set(SECTION_NAMES)
    assert vocab.names["a/p"] == "assessment_plan"
    assert "pe" in vocab.colon_required


def test_bracketed_and_numbered_headers_open_sections() -> None:
    text = (
        "[Chief Complaint]\nCough for 3 days.\n"
        "[History of Present Illness] Dry cough since Monday.\n"
        "[Family History]: Mother with breast cancer.\n"
        "3) Past Medical History\nAsthma.\n"
        "IV. Assessment/Plan:\n1. Acute bronchitis.\n2. Follow up in two weeks.\n"
    )
    sections = detect_sections(text)
    assert_covers(text, sections)
    assert names(text) == ["chief_complaint", "hpi", "family_history", "pmh", "assessment_plan"]
    hpi = sections[1]
    assert text[hpi.start : hpi.content_start] == "[History of Present Illness]"
    assert text[sections[2].start : sections[2].content_start] == "[Family History]:"
    assert text[sections[3].start : sections[3].content_start] == "3) Past Medical History"


@pytest.mark.parametrize(
    "text",
    [
        "[Plan for the weekend] rest.\nCough.\n",  # the bracket does not close after the phrase
        "Exam: [plan] was discussed.\n",  # a bracket inside a line is not a header
        "1. Plan details were discussed at length.\n",  # a numbered sentence, not a header
    ],
)
def test_brackets_and_numbers_alone_make_no_header(text: str) -> None:
    assert "plan" not in names(text)
