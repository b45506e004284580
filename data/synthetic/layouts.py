"""Note layouts: the order and style of sections for each note type.

Each function writes a whole note with a `Writer` and returns the layout name, which becomes
part of the note's template id (``<note_type>.<layout>.<header style>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from data.synthetic.builder import cap
from data.synthetic.filler import (
    CHILD_COUNSELING,
    COUNSELING,
    DISCHARGE_INSTRUCTIONS,
    IMAGING_DETAIL,
    NARRATIVE,
    PROCEDURE_DETAIL,
    hospital_days,
    sentences,
)
from data.synthetic.notes import Writer
from data.synthetic.sections import (
    ALLERGIES,
    distractor_writer,
    dx_writer,
    exam,
    join_mentions,
    labs,
    meds,
    ros,
    vitals,
)

PROVIDERS = (
    "Dr. A. Reyes, MD",
    "J. Chen, DO",
    "M. Okonkwo, MD",
    "S. Larsen, NP",
    "R. Iyer, MD",
    "K. Dubois, PA-C",
    "L. Moreau, MD",
    "T. Hassan, MD",
)


def _header_block(w: Writer, title: str) -> None:
    b, case, rng = w.b, w.case, w.rng
    if rng.random() < 0.6:
        b.add(f"{title}\n")
    if rng.random() < 0.7:
        b.add(f"Date of service: {case.dos.isoformat()}")
        b.add(
            f"   Provider: {PROVIDERS[rng.randrange(len(PROVIDERS))]}\n"
            if rng.random() < 0.6
            else "\n"
        )
    if rng.random() < 0.3:
        b.add(f"Patient: {case.age} y/o {case.sex}\n")


def _sign(w: Writer) -> None:
    rng = w.rng
    if rng.random() < 0.7:
        w.b.add(
            "\n"
            + rng.choice(("Electronically signed by ", "Signed: ", "-- ", ""))
            + PROVIDERS[rng.randrange(len(PROVIDERS))]
            + "\n"
        )


def _cc(w: Writer) -> None:
    b = w.b
    w.h(b, "cc")
    p = w.principal
    if p is not None and w.rng.random() < 0.5:
        b.add(w.rng.choice(("Follow-up of ", "Evaluation of ", "", "Here for ")))
        dx_writer(p)(b, b.parts[-1].endswith("\n"))
        b.add("\n")
    else:
        b.add(
            w.rng.choice(
                (
                    '"I need my checkup"',
                    "Follow-up visit",
                    "Recheck",
                    "New problem",
                    "Medication review",
                    "Ongoing symptoms",
                )
            )
            + "\n"
        )


def office(w: Writer) -> str:
    b, rng = w.b, w.rng
    layout = ("soap", "problem", "narrative")[rng.randrange(3)]
    _header_block(
        w,
        rng.choice(
            (
                "Office Visit",
                "Clinic Note",
                "Outpatient Progress Note",
                f"{cap(w.case.specialty)} Clinic",
            )
        ),
    )
    _cc(w)
    w.h(b, "hpi")
    w.hpi()
    if layout != "narrative":
        w.h(b, "pmh")
        w.pmh()
        w.h(b, "meds")
        meds(b, w.case, w.meds_by_code)
        w.h(b, "allergies")
        b.add(ALLERGIES[rng.randrange(len(ALLERGIES))] + "\n")
        if layout == "soap" or rng.random() < 0.5:
            w.h(b, "social")
            w.social()
            w.h(b, "family")
            w.family()
        w.h(b, "ros")
        ros(b, w.case)
    else:
        w.pmh()
        w.family()
    w.h(b, "vitals")
    vitals(b, w.case, w.bmi)
    w.h(b, "exam")
    exam(b, rng.randint(3, 9))
    if rng.random() < 0.5:
        w.h(b, "results")
        labs(b)
    w.h(b, "ap")
    w.ap(narrative=layout == "narrative")
    if w.case.procs:
        w.h(b, "procedures")
        w.procedures(w.case.procs)
    w.ordered()
    w.h(b, "billing")
    w.em_statement()
    _sign(w)
    return layout


def telehealth(w: Writer) -> str:
    b, rng = w.b, w.rng
    layout = ("brief", "soap")[rng.randrange(2)]
    _header_block(w, rng.choice(("Telehealth Visit", "Virtual Follow-up", "Telemedicine Note")))
    b.frame("tele_modality_video" if w.case.modality == "video" else "tele_modality_audio", {})
    b.add(" Patient identity verified with two identifiers; consent obtained.\n")
    w.h(b, "hpi")
    w.hpi()
    if layout == "soap":
        w.h(b, "meds")
        meds(b, w.case, w.meds_by_code)
        w.h(b, "ros")
        ros(b, w.case)
        w.pmh()
    b.add(
        "Exam limited by virtual format; "
        + rng.choice(
            (
                "patient appears well on video, speaking in full sentences.",
                "no acute distress evident.",
                "exam deferred (audio only).",
            )
        )
        + "\n"
    )
    w.h(b, "ap")
    w.ap()
    w.ordered()
    w.em_statement()
    _sign(w)
    return layout


def ed(w: Writer) -> str:
    b, rng = w.b, w.rng
    layout = ("standard", "brief")[rng.randrange(2)]
    _header_block(
        w,
        rng.choice(("Emergency Department Note", "ED Provider Note", "Emergency Medicine Record")),
    )
    _cc(w)
    w.h(b, "hpi")
    w.hpi()
    w.h(b, "ros")
    ros(b, w.case)
    if layout == "standard":
        w.h(b, "pmh")
        w.pmh()
        w.h(b, "meds")
        meds(b, w.case, w.meds_by_code)
        w.h(b, "allergies")
        b.add(ALLERGIES[rng.randrange(len(ALLERGIES))] + "\n")
    w.h(b, "vitals")
    vitals(b, w.case, w.bmi)
    w.h(b, "exam")
    exam(b, rng.randint(3, 8))
    w.h(b, "course")
    labs(b)
    if w.case.procs:
        w.procedures(w.case.procs)
    w.ordered()
    w.h(b, "dx")
    w.ap()
    w.h(b, "disposition")
    b.add(
        rng.choice(
            (
                "Discharged home in stable condition with return precautions.",
                "Admitted to medicine for further management.",
                "Discharged home; follow up with PCP in 2-3 days.",
                "Transferred to observation.",
            )
        )
        + "\n"
    )
    w.em_statement()
    _sign(w)
    return layout


def procedure(w: Writer) -> str:
    b, rng = w.b, w.rng
    imaging = all(p.kind == "imaging" for p in w.case.procs)
    layout = "imaging" if imaging else "operative"
    if imaging:
        b.add(rng.choice(("EXAM: ", "Study: ", "Examination: ")))
        for i, p in enumerate(w.case.procs):
            if i:
                b.add("; ")
            b.mention(cap(p.phrase), p.system, p.code)
        b.add(f"\nDate: {w.case.dos.isoformat()}\n")
        b.add(rng.choice(("INDICATION: ", "Clinical history: ", "Reason for exam: ")))
        for i, p in enumerate(w.dx):
            if i:
                b.add(", ")
            dx_writer(p)(b, i == 0)
        b.add(".\n")
        b.add(
            rng.choice(
                (
                    "TECHNIQUE: Standard departmental protocol; images reviewed on PACS.\n",
                    "COMPARISON: None available.\n",
                    "TECHNIQUE: Routine views obtained. COMPARISON: Prior study.\n",
                )
            )
        )
        b.add("FINDINGS: " + sentences(rng, IMAGING_DETAIL, rng.randint(4, 5 + w.filler), b.ctx))
        b.add(" Findings as summarized in the impression.\n")
        b.add("IMPRESSION:\n")
        for i, p in enumerate(w.dx):
            b.frame("dx_list_item", {"dx": dx_writer(p), "n": str(i + 1)})
            b.add("\n")
        for d in w.dist["uncertain"] + w.dist["negated"]:
            b.frame("negated", {"dx": distractor_writer(d)})
            b.add("\n")
        _sign(w)
        return layout
    _header_block(w, rng.choice(("Procedure Note", "Operative Report", "Brief Op Note")))
    b.add(rng.choice(("Procedure: ", "PROCEDURE PERFORMED: ", "Procedure(s): ")))
    for i, p in enumerate(w.case.procs):
        if i:
            b.add(", ")
        b.mention(p.phrase, p.system, p.code)
    b.add("\n")
    b.add(rng.choice(("Pre-procedure diagnosis: ", "PREOPERATIVE DIAGNOSIS: ", "Indication: ")))
    for i, p in enumerate(w.dx):
        if i:
            b.add("; ")
        dx_writer(p)(b, i == 0)
    b.add(
        "\n"
        + rng.choice(
            (
                "Post-procedure diagnosis: same.",
                "POSTOPERATIVE DIAGNOSIS: Same.",
                "Findings consistent with indication.",
            )
        )
        + "\n"
    )
    b.add(
        rng.choice(
            (
                "Anesthesia: local with 1% lidocaine.",
                "Anesthesia: moderate sedation.",
                "Anesthesia: general endotracheal.",
                "Anesthesia: MAC.",
            )
        )
        + "\n"
    )
    b.add(
        "Consent: risks, benefits and alternatives discussed; written consent obtained. "
        "Time-out performed.\n"
    )
    b.add("Description: The patient was positioned and prepped in the usual sterile fashion. ")
    b.add(sentences(rng, PROCEDURE_DETAIL, rng.randint(2, 3 + w.filler), b.ctx) + " ")
    b.add(
        rng.choice(
            (
                "The procedure was carried out without difficulty.",
                "Hemostasis was achieved. The patient tolerated the procedure well.",
                "No complications. Estimated blood loss minimal.",
            )
        )
        + "\n"
    )
    if w.dist["history"] or w.dist["negated"]:
        w.h(b, "pmh")
        w.pmh()
    b.add(
        rng.choice(
            (
                "Complications: none.",
                "EBL: <5 mL. Complications: none.",
                "Specimens: sent to pathology.",
            )
        )
        + "\n"
    )
    w.h(b, "disposition")
    b.add(
        rng.choice(
            (
                "Follow up in 2 weeks.",
                "Wound care instructions given.",
                "Return precautions reviewed.",
            )
        )
        + "\n"
    )
    for d in w.dist["hypothetical"]:
        b.frame("hypothetical", {"dx": distractor_writer(d)})
        b.add("\n")
    _sign(w)
    return layout


def discharge(w: Writer) -> str:
    b, rng = w.b, w.rng
    layout = ("standard", "narrative")[rng.randrange(2)]
    los = rng.randint(2, 5) if rng.random() < 0.6 else rng.randint(4, 16)
    b.add(rng.choice(("DISCHARGE SUMMARY\n", "Discharge Summary\n", "Hospital Discharge Note\n")))
    adm = w.case.dos.toordinal() - los
    b.add(
        f"Admission date: {dt.date.fromordinal(adm).isoformat()}   "
        f"Discharge date: {w.case.dos.isoformat()}\n"
    )
    w.h(b, "dx")
    n = 1
    for p in w.dx:
        if p.kind == "status":
            continue
        # Uncertain diagnoses at discharge are coded as if established (inpatient rule).
        slot = "uncertain_inpatient" if p.kind == "acute" and rng.random() < 0.3 else "dx_list_item"
        b.frame(slot, {"dx": dx_writer(p), "n": str(n)})
        b.add("\n")
        n += 1
    w.h(b, "hpi")
    w.hpi()
    if rng.random() < 0.6:
        w.h(b, "ros")
        ros(b, w.case)
    w.h(b, "course")
    if w.principal is not None:
        b.frame("course_open", {"dx": dx_writer(w.principal)})
        b.add(" ")
    b.add(hospital_days(rng, los, b.ctx) + "\n")
    if layout == "narrative":
        w.ap(narrative=True)
    else:
        w.ap()
    if rng.random() < 0.5:
        w.h(b, "exam")
        exam(b, rng.randint(4, 10))
    if w.case.procs:
        w.procedures(w.case.procs)
    labs(b)
    w.h(b, "pmh")
    w.pmh()
    w.h(b, "family")
    w.family()
    w.h(b, "meds")
    meds(b, w.case, w.meds_by_code)
    w.h(b, "disposition")
    b.add(sentences(rng, DISCHARGE_INSTRUCTIONS, rng.randint(2, 2 + w.filler), b.ctx) + "\n")
    b.add(
        rng.choice(
            (
                "Discharged home in stable condition.",
                "Discharged to skilled nursing.",
                "Home with home health services.",
            )
        )
        + " "
        + rng.choice(
            ("Follow up with PCP in 1 week.", "Cardiology follow-up in 2 weeks.", "Labs in 1 week.")
        )
        + "\n"
    )
    w.em_statement()
    _sign(w)
    return layout


def preventive(w: Writer) -> str:
    b, rng = w.b, w.rng
    layout = "child" if w.case.age < 18 else "adult"
    _header_block(
        w,
        rng.choice(
            ("Preventive Visit", "Annual Physical", "Well Visit", "Health Maintenance Exam")
        ),
    )
    w.h(b, "hpi")
    w.hpi()
    w.h(b, "pmh")
    w.pmh()
    w.h(b, "meds")
    meds(b, w.case, w.meds_by_code)
    w.h(b, "family")
    w.family()
    w.h(b, "social")
    w.social()
    w.h(b, "vitals")
    vitals(b, w.case, w.bmi)
    w.h(b, "exam")
    exam(b, rng.randint(6, 10))
    w.h(b, "ap")
    w.ap()
    if w.case.procs:
        w.h(b, "procedures")
        w.procedures(w.case.procs)
    pool = COUNSELING if w.case.age >= 18 else CHILD_COUNSELING
    b.add(sentences(rng, pool, rng.randint(2, 5), b.ctx) + "\n")
    b.add(
        rng.choice(
            (
                "Counseled on diet, exercise, seat belts and sun protection.",
                "Anticipatory guidance provided for age.",
                "Discussed sleep, screen time, nutrition and safety.",
            )
        )
        + "\n"
    )
    w.em_statement()
    _sign(w)
    return layout


def consult(w: Writer) -> str:
    b, rng = w.b, w.rng
    if rng.random() < 0.6:
        # Narrative case report: few headers, flowing prose (like published case reports).
        w.hpi()
        w.pmh()
        b.add(
            rng.choice(
                ("Physical examination revealed ", "On examination, ", "Examination showed ")
            )
        )
        b.add(
            rng.choice(
                (
                    "a well-appearing patient with stable vital signs. ",
                    "tenderness and mild swelling without other findings. ",
                    "no focal deficits. ",
                )
            )
        )
        b.add(sentences(rng, NARRATIVE, rng.randint(1, 1 + w.filler // 2), b.ctx) + " ")
        b.add("Laboratory tests: ")
        labs(b)
        main = w.principal or (w.dx[0] if w.dx else None)
        if main is not None:
            b.frame("narrative_dx", {"dx": dx_writer(main)})
            b.add(" ")
        others = [p for p in w.dx if p is not main and p.kind != "status"]
        if others:
            b.add(
                rng.choice(
                    (
                        "Comorbidities included ",
                        "Other active problems were ",
                        "Coexisting conditions: ",
                        "The patient also had ",
                    )
                )
            )
            join_mentions(others)(b, False)
            b.add(". ")
        b.add(sentences(rng, NARRATIVE, rng.randint(1, 2 + w.filler // 2), b.ctx) + " ")
        for d in w.dist["uncertain"]:
            b.frame("uncertain", {"dx": distractor_writer(d)})
            b.add(" ")
        for d in w.dist["hypothetical"]:
            b.frame("hypothetical", {"dx": distractor_writer(d)})
            b.add(" ")
        w.family()
        w.ordered()
        w.em_statement()
        return "narrative"
    _header_block(w, rng.choice(("Consultation", "Consult Note", "New Consultation")))
    b.add(f"Requesting physician: {rng.choice(('Dr. Walsh', 'Dr. Ito', 'the primary team'))}\n")
    w.h(b, "hpi")
    w.hpi()
    w.h(b, "pmh")
    w.pmh()
    w.h(b, "family")
    w.family()
    w.h(b, "ros")
    ros(b, w.case)
    w.h(b, "exam")
    exam(b, rng.randint(4, 9))
    w.h(b, "results")
    labs(b)
    w.h(b, "ap")
    w.ap()
    w.ordered()
    w.em_statement()
    _sign(w)
    return "structured"


LAYOUTS: dict[str, Callable[[Writer], str]] = {
    "office": office,
    "telehealth": telehealth,
    "ED": ed,
    "procedure": procedure,
    "discharge": discharge,
    "preventive": preventive,
    "consult": consult,
}
