"""Context analyser: every cue of the issue, pseudo-negation, scopes, sections, cue spans."""

from __future__ import annotations

import pytest

from model.text.context import FLAG_NAMES, ContextAnalyzer, ContextFlags
from model.text.context_rules import MODIFIERS, load_context_rules
from model.text.sections import detect_sections
from model.text.sentences import split_sentences
from tests.model.text.samples import BULLET_NOTE, CODIESP_STYLE, find


def flags_of(analyzer: ContextAnalyzer, text: str, phrase: str, nth: int = 0) -> ContextFlags:
    (flags,) = analyzer.analyze(text, [find(text, phrase, nth)])
    for cue in flags.cues:
        assert text[cue.start : cue.end] == cue.text
    return flags


def on(flags: ContextFlags) -> set[str]:
    return {name for name in FLAG_NAMES if getattr(flags, name)}


# (text, mention, expected flags, a cue that must be among the fired cue texts or None)
CASES = [
    # negation
    ("Patient denies chest pain.", "chest pain", {"negated"}, "denies"),
    ("No evidence of pneumonia on CXR.", "pneumonia", {"negated"}, "No evidence of"),
    ("Negative for malignancy.", "malignancy", {"negated"}, "Negative for"),
    ("No fever, chills, or night sweats.", "night sweats", {"negated"}, "No"),
    ("Without edema.", "edema", {"negated"}, "Without"),
    ("Absence of murmurs.", "murmurs", {"negated"}, "Absence of"),
    ("Free of tumor.", "tumor", {"negated"}, "Free of"),
    ("He is not diabetic.", "diabetic", {"negated"}, "is not"),
    ("Rash not present.", "Rash", {"negated"}, "not present"),
    ("Pneumonia is unlikely.", "Pneumonia", {"negated"}, "is unlikely"),
    ("HIV negative.", "HIV", {"negated"}, "negative"),
    ("No history of diabetes.", "diabetes", {"negated"}, "No history of"),
    ("Denies history of MI.", "MI", {"negated"}, "Denies history of"),
    # ruled out (negated and ruled out) versus rule out (uncertain)
    ("PE was ruled out.", "PE", {"negated", "ruled_out"}, "was ruled out"),
    ("MI ruled out by troponins.", "MI", {"negated", "ruled_out"}, "ruled out"),
    ("Ruled out for MI.", "MI", {"negated", "ruled_out"}, "Ruled out for"),
    ("DVT has been excluded.", "DVT", {"negated", "ruled_out"}, "has been excluded"),
    ("Rule out PE.", "PE", {"uncertain"}, "Rule out"),
    ("CTA to r/o PE.", "PE", {"uncertain"}, "r/o"),
    ("PE not ruled out.", "PE", {"uncertain"}, "not ruled out"),
    ("Cannot rule out PE.", "PE", {"uncertain"}, "Cannot rule out"),
    # uncertainty
    ("Possible pneumonia.", "pneumonia", {"uncertain"}, "Possible"),
    ("Probable UTI.", "UTI", {"uncertain"}, "Probable"),
    ("Suspected appendicitis.", "appendicitis", {"uncertain"}, "Suspected"),
    ("Appendicitis is suspected.", "Appendicitis", {"uncertain"}, "is suspected"),
    ("Likely viral URI.", "viral URI", {"uncertain"}, "Likely"),
    ("Cannot exclude fracture.", "fracture", {"uncertain"}, "Cannot exclude"),
    ("Fracture cannot be excluded.", "Fracture", {"uncertain"}, "cannot be excluded"),
    ("Concern for sepsis.", "sepsis", {"uncertain"}, "Concern for"),
    ("Questionable infiltrate.", "infiltrate", {"uncertain"}, "Questionable"),
    ("Findings suspicious for malignancy.", "malignancy", {"uncertain"}, "suspicious for"),
    ("Viral versus bacterial pneumonia.", "bacterial pneumonia", {"uncertain"}, "versus"),
    # hypothetical / planned
    ("Return to the ED if symptoms worsen.", "symptoms", {"hypothetical"}, None),
    ("Call if fever recurs.", "fever", {"hypothetical"}, "Call if"),
    ("If chest pain recurs, take nitroglycerin.", "chest pain", {"hypothetical"}, "If"),
    ("Scheduled for colonoscopy next week.", "colonoscopy", {"hypothetical"}, "Scheduled for"),
    ("Plan to start insulin.", "insulin", {"hypothetical"}, "Plan to"),
    ("DVT prophylaxis with heparin.", "DVT", {"hypothetical"}, "prophylaxis"),
    ("At risk for falls.", "falls", {"hypothetical"}, "At risk for"),
    # history
    ("History of MI in 2010.", "MI", {"historical"}, "History of"),
    ("H/o stroke.", "stroke", {"historical"}, "H/o"),
    ("S/p appendectomy.", "appendectomy", {"historical"}, "S/p"),
    ("Status post CABG.", "CABG", {"historical"}, "Status post"),
    ("Former smoker.", "smoker", {"historical"}, "Former"),
    ("An ex-smoker of 60 cigarettes/day.", "smoker of 60 cigarettes", {"historical"}, "ex-"),
    ("Kidney stones in the past.", "Kidney stones", {"historical"}, "in the past"),
    ("Hepatitis A years ago.", "Hepatitis A", {"historical"}, "years ago"),
    # family
    ("Mother has breast cancer.", "breast cancer", {"family"}, "Mother"),
    ("Father had an MI at 60.", "MI", {"family"}, "Father"),
    ("Family history of colon cancer.", "colon cancer", {"family"}, "Family history of"),
    ("Diabetes in his mother.", "Diabetes", {"family"}, "in his mother"),
    ("FHx: mother with breast cancer.", "breast cancer", {"family"}, "FHx"),
    ("Family history: colon cancer in father.", "colon cancer", {"family"}, "Family history"),
    (
        "Mother has a history of breast cancer.",
        "breast cancer",
        {"family", "historical"},
        "a history of",
    ),
]


@pytest.mark.parametrize(("text", "mention", "expected", "cue"), CASES)
def test_issue_cues(
    analyzer: ContextAnalyzer, text: str, mention: str, expected: set[str], cue: str | None
) -> None:
    flags = flags_of(analyzer, text, mention)
    assert on(flags) == expected
    if cue is not None:
        assert cue in [c.text for c in flags.cues]
    assert flags.affirmed == (not expected & {"negated", "hypothetical", "uncertain", "family"})


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("No increase in pain.", "pain"),
        ("No change in the nodule.", "nodule"),
        ("No interval change of the effusion.", "effusion"),
        ("Not only pain but also swelling.", "pain"),
        ("Gram negative rods in blood cultures.", "rods"),
        ("Gram-negative bacteremia.", "bacteremia"),
        ("No improvement in dyspnea.", "dyspnea"),
        ("Hypertension not well controlled.", "Hypertension"),
        ("A 45-year-old man with chest pain.", "chest pain"),
        ("Prior to admission he had chest pain.", "chest pain"),
        ("The patient had a 1-month history of fever.", "fever"),
        ("A 3 day history of cough.", "cough"),
        ("HISTORY OF PRESENT ILLNESS: cough for 3 days.", "cough"),
    ],
)
def test_pseudo_cues_do_not_modify(analyzer: ContextAnalyzer, text: str, mention: str) -> None:
    flags = flags_of(analyzer, text, mention)
    assert on(flags) == set()
    assert flags.affirmed


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        ("Denies fever but reports cough.", "cough"),
        ("No fever, however has cough.", "cough"),
        ("No rash although pruritus persists.", "pruritus"),
        ("No fever; cough for 3 days.", "cough"),
        ("No effusion which would explain dyspnea.", "dyspnea"),
        ("No fever, presents with cough.", "cough"),
        ("No chest pain, history of MI.", "chest pain"),  # negated, control below
        ("Denies fever, mother has diabetes.", "diabetes"),
        ("He is not sure why he has a long history of severe back pain.", "back pain"),
        ("Chest pain, PE was ruled out.", "Chest pain"),
        ("No fever.\nCough for 3 days.", "Cough"),
    ],
)
def test_scope_ends(analyzer: ContextAnalyzer, text: str, mention: str) -> None:
    flags = flags_of(analyzer, text, mention)
    if mention == "chest pain":
        assert on(flags) == {"negated"}
        assert on(flags_of(analyzer, text, "MI")) == {"historical"}
    else:
        assert not flags.negated
        assert not flags.ruled_out


def test_negation_reaches_the_mention_it_governs(analyzer: ContextAnalyzer) -> None:
    text = "Denies fever but reports cough."
    assert flags_of(analyzer, text, "fever").negated


@pytest.mark.parametrize(
    ("text", "mention"),
    [
        (
            "Assessment: concussion w/o loss of consciousness.",
            "concussion w/o loss of consciousness",
        ),
        (
            "Encounter for general adult medical examination without abnormal findings.",
            "general adult medical examination without abnormal findings",
        ),
    ],
)
def test_cue_inside_the_diagnosis_wording_does_not_negate_it(
    analyzer: ContextAnalyzer, text: str, mention: str
) -> None:
    assert not flags_of(analyzer, text, mention).negated
    # A cue that opens the mention still modifies it.
    assert flags_of(analyzer, "No fever today.", "No fever").negated


def test_adjacent_cues_stack(analyzer: ContextAnalyzer) -> None:
    flags = flags_of(analyzer, "No current chest pain.", "chest pain")
    assert flags.negated
    flags = flags_of(analyzer, "Possible prior MI.", "MI")
    assert on(flags) == {"uncertain", "historical"}


def test_window_limits_reach(analyzer: ContextAnalyzer) -> None:
    # "not" reaches 5 words: the sixth word after it is out of reach.
    text = "He did not take his medication today and developed edema."
    assert flags_of(analyzer, text, "medication").negated
    assert not flags_of(analyzer, text, "edema").negated


@pytest.mark.parametrize(
    ("text", "mention", "negated"),
    [
        ("Serology: HIV, lues, Epstein-Barr virus and cytomegalovirus negative.", "HIV", True),
        ("Serology: HIV, lues, Epstein-Barr virus and cytomegalovirus negative.", "lues", True),
        ("Labs today: HIV, hepatitis B and hepatitis C were negative.", "hepatitis B", True),
        # no label: a comma still ends the reach of a trailing "negative"
        ("Chest pain, troponin negative.", "Chest pain", False),
        # the negation must close the sentence
        ("Serology: HIV, CMV negative and EBV positive.", "HIV", False),
    ],
)
def test_a_negation_closing_a_labelled_list_reaches_the_whole_list(
    analyzer: ContextAnalyzer, text: str, mention: str, negated: bool
) -> None:
    assert flags_of(analyzer, text, mention).negated is negated


def test_sections_add_history_and_family(analyzer: ContextAnalyzer) -> None:
    text = "PMH: HTN, asthma\nPSH: cholecystectomy\nFamily History: diabetes\nHPI: chest pain"
    assert on(flags_of(analyzer, text, "HTN")) == {"historical"}
    assert on(flags_of(analyzer, text, "asthma")) == {"historical"}
    assert on(flags_of(analyzer, text, "cholecystectomy")) == {"historical"}
    family = flags_of(analyzer, text, "diabetes")
    assert on(family) == {"family"}
    assert [c.text for c in family.cues] == ["Family History"]
    assert on(flags_of(analyzer, text, "chest pain")) == set()


def test_current_cancels_section_history(analyzer: ContextAnalyzer) -> None:
    text = "PMH: asthma, currently on albuterol\nHTN"
    assert not flags_of(analyzer, text, "asthma").historical
    assert flags_of(analyzer, text, "HTN").historical


def test_ros_negative_lists(analyzer: ContextAnalyzer) -> None:
    text = "ROS: Negative for fever, chills. Positive for cough.\nDenies:\n- nausea\n- vomiting\n"
    text += "Reports:\n- fatigue"
    assert flags_of(analyzer, text, "fever").negated
    assert flags_of(analyzer, text, "chills").negated
    assert not flags_of(analyzer, text, "cough").negated
    assert flags_of(analyzer, text, "nausea").negated
    assert flags_of(analyzer, text, "vomiting").negated
    assert not flags_of(analyzer, text, "fatigue").negated


def test_list_heading_does_not_cross_sections(analyzer: ContextAnalyzer) -> None:
    text = "HPI: denies:\nPlan:\n- pneumonia"
    assert not flags_of(analyzer, text, "pneumonia").negated


def test_bullet_note(analyzer: ContextAnalyzer) -> None:
    text = BULLET_NOTE
    expected = {
        "chest pain": set(),
        "shortness of breath": {"negated"},
        "diaphoresis": {"negated"},
        "Hypertension": {"historical"},
        "Type 2 diabetes mellitus": {"historical"},
        "appendectomy": {"historical"},
        "breast cancer": {"family"},
        "smoker": {"historical"},
        "fever": {"negated"},
        "cough": {"negated"},
        "fatigue": set(),
        "edema": {"negated"},
        "unstable angina": {"uncertain"},
        "symptoms": {"hypothetical"},
    }
    phrases = list(expected)
    results = analyzer.analyze(text, [find(text, p) for p in phrases])
    assert {p: on(f) for p, f in zip(phrases, results, strict=True)} == expected
    assert on(flags_of(analyzer, text, "MI")) == {"negated"}  # "No history of MI"
    assert on(flags_of(analyzer, text, "MI", nth=1)) == {"family"}  # "father had MI"


def test_codiesp_style(analyzer: ContextAnalyzer) -> None:
    text = CODIESP_STYLE
    expected = {
        "arterial hypertension": {"historical"},
        "dyslipidemia": {"historical"},
        "dyspnea": set(),
        "fever": {"negated"},
        "chest pain": {"negated"},
        "pleural effusion": set(),
        "consolidation": {"negated"},
        "Pulmonary thromboembolism": {"negated", "ruled_out"},
        "heart failure": {"uncertain"},
        "colon cancer": {"family"},
    }
    phrases = list(expected)
    results = analyzer.analyze(text, [find(text, p) for p in phrases])
    assert {p: on(f) for p, f in zip(phrases, results, strict=True)} == expected


def _cue_cases() -> list[tuple[str, str, str]]:
    cases = []
    for key, rule in sorted(load_context_rules().rules.items()):
        if rule.category not in MODIFIERS:
            continue
        if rule.looks_forward:
            cases.append((key, rule.category, "pre"))
        if rule.looks_back:
            cases.append((key, rule.category, "post"))
    return cases


def test_every_packaged_cue_fires(analyzer: ContextAnalyzer) -> None:
    """Each modifier cue of the rule file, on each side it looks at, marks the mention.

    One test over ~600 cues (a parametrised test per cue would cost seconds of overhead).
    """
    failures = []
    cases = _cue_cases()
    assert len(cases) > 400
    for cue, category, side in cases:
        body = f"{cue} pneumonia." if side == "pre" else f"pneumonia {cue} here."
        text = f"PMH: {body}" if category == "current" else body
        flags = flags_of(analyzer, text, "pneumonia")
        fired = [" ".join(c.text.lower().split()) for c in flags.cues]
        ok = not flags.historical if category == "current" else getattr(flags, category)
        if not ok or (category != "current" and cue not in fired):
            failures.append(f"{side} {cue!r} ({category}): {on(flags)} from {fired}")
    assert not failures, "\n".join(failures)


def test_precomputed_sentences_and_sections_give_the_same_result(
    analyzer: ContextAnalyzer,
) -> None:
    text = BULLET_NOTE
    mentions = [find(text, p) for p in ("fever", "breast cancer", "Hypertension", "symptoms")]
    direct = analyzer.analyze(text, mentions)
    given = analyzer.analyze(
        text, mentions, sentences=split_sentences(text), sections=detect_sections(text)
    )
    assert direct == given


def test_no_mentions_and_whole_text_mention(analyzer: ContextAnalyzer) -> None:
    assert analyzer.analyze("No fever.", []) == []
    (flags,) = analyzer.analyze("No fever.", [(0, 9)])
    assert flags.negated  # a cue inside the mention applies to it
    (flags,) = analyzer.analyze("No fever.", [(9, 9)])
    assert isinstance(flags, ContextFlags)


@pytest.mark.parametrize("mention", [(-1, 2), (3, 2), (0, 100), ("a", 2), (1,), None, (1.0, 2.0)])
def test_bad_mentions_are_rejected(analyzer: ContextAnalyzer, mention: object) -> None:
    with pytest.raises(ValueError, match=r"mentions\[1\]"):
        analyzer.analyze("No fever today.", [(0, 2), mention])  # type: ignore[list-item]


def test_flags_to_dict(analyzer: ContextAnalyzer) -> None:
    (flags,) = analyzer.analyze("PE was ruled out.", [(0, 2)])
    out = flags.to_dict()
    assert out["negated"] is True and out["ruled_out"] is True and out["family"] is False
    assert out["cues"] == [{"start": 3, "end": 16, "text": "was ruled out"}]


def test_real_codiesp_cue_spans(analyzer: ContextAnalyzer, codiesp_texts: list[str]) -> None:
    for text in codiesp_texts[:30]:
        cues = analyzer.find_cues(text)
        for cue in cues:
            assert 0 <= cue.start < cue.end <= len(text)
        words = [(m, m + 1) for m in range(0, len(text), 97)]
        for flags in analyzer.analyze(text, words):
            for span in flags.cues:
                assert text[span.start : span.end] == span.text


def test_a_200k_character_note_end_to_end(analyzer: ContextAnalyzer) -> None:
    from model.text.note import Note

    text = (BULLET_NOTE * (200_000 // len(BULLET_NOTE) + 1))[:200_000]
    note = Note.create(text)
    sections = detect_sections(note.text)
    sentences = split_sentences(note.text)
    assert sections[-1].end == len(note.text)
    mentions = [find(note.text, "fever", nth) for nth in range(0, 120, 4)]
    results = analyzer.analyze(note.text, mentions, sentences=sentences, sections=sections)
    assert len(results) == 30
    assert all(r.negated for r in results)  # "Negative for fever" in every copy
    for s in sentences[:: max(1, len(sentences) // 50)]:
        assert note.text[s.start : s.end] == s.text
