"""E/M coding: the visit family from the note's wording and setting, the level from time, MDM
or age band, and the spans that state them."""

from __future__ import annotations

import pytest

from model.v1.em import documentation, family_match, implied_codes, level_match


@pytest.mark.parametrize(
    ("text", "setting", "age", "code"),
    [
        # Office: established vs new, by time thresholds (2021+) or MDM.
        ("Return visit, established patient. Total time: 32 min.", "outpatient", None, "99214"),
        (
            "Initial visit, new patient. 47 minutes were spent on this encounter.",
            None,
            None,
            "99204",
        ),
        (
            "Follow-up visit. Medical decision making of low complexity.",
            "outpatient",
            None,
            "99213",
        ),
        # "New patient" said outright beats a follow-up appointment mentioned in the plan.
        (
            "Follow-up appointment in 3 months. New patient. Total time 20 minutes.",
            None,
            None,
            "99202",
        ),
        # Discharge day management: 30 minutes or less vs more than 30.
        ("Discharge Summary. Time spent on discharge: 26 minutes.", "inpatient", None, "99238"),
        ("I spent 47 minutes on the day of discharge.", "inpatient", None, "99239"),
        # Consults: header line or requesting physician; inpatient vs outpatient by setting.
        (
            "Consultation\nRequesting physician: Dr. Ito\nTotal time: 45 min.",
            "outpatient",
            None,
            "99244",
        ),
        ("New Consultation\nTotal time: 80 minutes.", "inpatient", None, "99255"),
        # ED by setting, level from MDM, even when the note names no department.
        ("Decision making was moderate complexity.", "ED", None, "99284"),
        # Telehealth: audio-only vs video, whichever is named first.
        (
            "Telephone visit; no video available. Established pt. Total time: 25 min.",
            None,
            None,
            "98013",
        ),
        ("Synchronous video visit. Established patient. Total time: 35 min.", None, None, "98006"),
        # "Telehealth" names no modality: the audio-only statement decides, wherever it stands.
        (
            "Telehealth follow-up. Established patient. Conducted by telephone; the patient "
            "could not connect to video. Total time: 22 minutes.",
            None,
            None,
            "98013",
        ),
        ("Telemedicine visit. New patient. Total time: 32 minutes.", None, None, "98001"),
        (
            "Virtual visit (video), patient at home. Established patient. Exam deferred (audio "
            "only). Total time: 12 minutes.",
            None,
            None,
            "98004",
        ),
        # Preventive visits: level from the age band (meta age, or the note's "N-year-old").
        ("Annual physical. Established patient.", "outpatient", 47, "99396"),
        ("Well-child visit for a 3-year-old boy. New patient.", "outpatient", None, "99382"),
    ],
)
def test_em_family_and_level(text: str, setting: str | None, age: int | None, code: str) -> None:
    doc = documentation(text, setting=setting, age=age)
    assert doc is not None
    assert family_match(code, doc) == 1.0, sorted(doc.families)
    assert level_match(code, doc) == 1.0
    assert code in implied_codes(doc)
    assert 0 <= doc.start <= doc.end <= len(text)


def test_em_outpatient_note_mentioning_the_ed_stays_an_office_visit() -> None:
    text = (
        "Return visit, established patient. She has not been to the emergency department since "
        "the last visit. Total time: 25 min."
    )
    doc = documentation(text, setting="outpatient")
    assert doc is not None
    assert family_match("99213", doc) == 1.0
    assert family_match("99283", doc) == -1.0  # ED family not documented


def test_em_critical_care_time_adds_99291_to_the_ed_visit() -> None:
    text = "High complexity MDM. Critical care provided for 52 minutes excluding procedures."
    doc = documentation(text, setting="ED")
    assert doc is not None and doc.critical_minutes == 52
    assert family_match("99291", doc) == 1.0 and level_match("99291", doc) == 1.0
    assert level_match("99285", doc) == 1.0
    short = documentation("Critical care provided for 20 minutes.", setting="ED")
    assert short is not None and level_match("99291", short) == 0.0  # under 30 minutes


@pytest.mark.parametrize(
    "text",
    [
        "Annual wellness visit, subsequent. Established patient.",
        "Medicare wellness exam. Established patient. Preventive visit.",
        "Personalized prevention plan updated today; annual physical exam components reviewed.",
    ],
)
def test_em_medicare_wellness_visit_is_not_a_preventive_medicine_code(text: str) -> None:
    doc = documentation(text, age=70)
    assert doc is None or not any(f.startswith("preventive") for f in doc.families)


def test_em_preventive_with_separate_problem_visit_keeps_both_families() -> None:
    text = (
        "Annual physical. Established patient. Separately identifiable problem-oriented visit "
        "(modifier 25) for the chronic conditions above; MDM moderate."
    )
    doc = documentation(text, age=52)
    assert doc is not None
    assert family_match("99396", doc) == 1.0 and level_match("99396", doc) == 1.0
    assert family_match("99214", doc) == 1.0 and level_match("99214", doc) == 1.0


def test_em_spans_point_at_the_statements() -> None:
    text = "Return visit, established patient.\nTotal time: 32 min."
    doc = documentation(text, setting="outpatient")
    assert doc is not None
    assert text[doc.cue_start : doc.cue_end] == "Return visit"
    assert text[doc.start : doc.end].startswith("Total time: 32 min")


def test_em_nothing_documented() -> None:
    assert documentation("Cough for two days, no fever.", setting="outpatient") is None
    assert family_match("99214", None) == 0.0
    assert implied_codes(None) == []


@pytest.mark.parametrize(
    ("text", "minutes", "code"),
    [
        ("Discharge summary. Discharge day management: more than 30 minutes.", 31, "99239"),
        ("Discharge summary. Time spent on discharge: >30 minutes.", 31, "99239"),
        ("Discharge summary. Discharge day management: 30 minutes.", 30, "99238"),
        ("Discharge summary. Total time spent less than 30 minutes.", 29, "99238"),
        ("Discharge summary. Discharge day management took no more than 30 minutes.", 30, "99238"),
        ("Discharge summary. Time spent on discharge: not over 30 minutes.", 30, "99238"),
        ("Discharge summary. Discharge day management: 30 minutes or less.", 30, "99238"),
        ("Discharge summary. Time spent on discharge: at most 30 min.", 30, "99238"),
        ("Discharge summary. Time spent on discharge: <= 30 minutes.", 30, "99238"),
        # a threshold statement and an exact total: the total is the documented time
        (
            "Discharge summary. More than 15 minutes spent on discharge planning and "
            "coordination; total 20 minutes.",
            20,
            "99238",
        ),
        (
            "Discharge summary. More than 30 minutes spent on discharge planning and "
            "coordination; total 45 minutes.",
            45,
            "99239",
        ),
        # the critical-care time is not the discharge time
        (
            "Discharge summary. Total critical care time 45 min. Time spent on discharge: 20 min.",
            20,
            "99238",
        ),
    ],
)
def test_em_more_or_less_than_a_time(text: str, minutes: int, code: str) -> None:
    """ "More than 30 minutes" meets a threshold stated as "31 minutes or more"."""
    doc = documentation(text, setting="inpatient")
    assert doc is not None and doc.minutes == minutes
    assert "discharge" in doc.families
    assert level_match(code, doc) > 0


@pytest.mark.parametrize(
    ("note_type", "setting", "code"),
    [
        ("consult", "outpatient", "99244"),
        ("Consultation note", "inpatient", "99253"),  # inpatient: 45 minutes for 99253
        ("office", "outpatient", "99215"),  # no kind named: an established office visit
        (None, "outpatient", "99215"),
    ],
)
def test_em_note_type_names_the_visit_kind_the_text_leaves_out(
    note_type: str | None, setting: str, code: str
) -> None:
    text = "Cough for a week.\nTime-based visit: 48 minutes on the date of service."
    doc = documentation(text, setting=setting, note_type=note_type)
    assert doc is not None
    assert family_match(code, doc) == 1.0, sorted(doc.families)
    assert level_match(code, doc) == 1.0


def test_em_discharge_note_type_and_a_kind_the_text_names_wins() -> None:
    text = "Stable at discharge. I spent 45 minutes on discharge day management."
    doc = documentation(text, setting="inpatient", note_type="Discharge summary")
    assert doc is not None and doc.families == {"discharge"}
    assert level_match("99239", doc) == 1.0
    # The text says consultation: that wins over a discharge document type.
    doc = documentation(
        "Inpatient consultation requested by medicine. Total time 45 minutes.",
        setting="inpatient",
        note_type="discharge summary",
    )
    assert doc is not None and doc.families == {"consult_in"}
    assert level_match("99253", doc) == 1.0


def test_em_evidence_is_the_visit_wording_and_the_level_statement() -> None:
    from model.v1.model import _em_spans

    text = (
        "Follow-up visit for established patient.\n"
        "Routine preventive exam performed; screening and counseling as above.\n"
        "Separately identifiable problem visit; MDM low."
    )
    doc = documentation(text, setting="outpatient", age=45)
    assert doc is not None

    def quoted(code: str) -> list[str]:
        return [text[s:e] for s, e in _em_spans(code, doc)]  # type: ignore[arg-type]

    # preventive 40-64, established: the status cue and the preventive wording
    assert quoted("99396") == ["Follow-up visit", "preventive exam"]
    # the problem visit: the status cue and the MDM statement that gives its level
    assert quoted("99213") == ["Follow-up visit", "MDM low"]
    assert quoted("99214") == ["Follow-up visit"]  # family documented, level not
    assert quoted("99203") == []  # new-patient family: not documented


def test_em_discharge_day_without_a_time_is_the_lower_code() -> None:
    doc = documentation("Discharge summary. Stable for discharge home.", setting="inpatient")
    assert doc is not None and doc.families == {"discharge"}
    assert level_match("99238", doc) == 1.0
    assert level_match("99239", doc) == -1.0


@pytest.mark.parametrize(
    ("text", "setting", "note_type", "family", "cited"),
    [
        # Discharge day, consults, ED and hospital visits have no new/established codes: the
        # status wording is not their evidence, the visit kind's wording is.
        (
            "Follow-up visit, established patient. I spent 47 minutes on the day of discharge.",
            "inpatient",
            None,
            "discharge",
            ["day of discharge", "spent 47 minutes"],
        ),
        (
            "Established patient. Reason for consultation: chest pain. "
            "Total encounter time 33 minutes.",
            "outpatient",
            None,
            "consult_out",
            ["Reason for consultation", "Total encounter time 33 minutes"],
        ),
        # A kind named only by the document type: the level statement alone.
        (
            "Follow-up visit for established patient. Time-based visit: 54 minutes.",
            "inpatient",
            "consult",
            "consult_in",
            ["Time-based visit: 54 minutes"],
        ),
    ],
)
def test_em_status_wording_is_cited_only_where_status_picks_the_code(
    text: str, setting: str, note_type: str | None, family: str, cited: list[str]
) -> None:
    from model.v1.model import _em_spans

    doc = documentation(text, setting=setting, note_type=note_type)
    assert doc is not None and family in doc.families
    codes = [c for c in implied_codes(doc) if family_match(c, doc) > 0]
    assert codes
    quoted = [text[s:e] for s, e in _em_spans(codes[0], doc)]
    assert [q.lower() for q in quoted] == [c.lower() for c in cited]
    assert not any("established" in q.lower() or "follow-up" in q.lower() for q in quoted)
