"""Section writers shared by every note type: headers, vitals, meds, ROS, exam, labs.

Header styles are split into families (train / dev / test) so that held-out notes also use
header layouts the training notes never showed.
"""

from __future__ import annotations

import random

from data.synthetic.builder import NoteBuilder, cap
from data.synthetic.filler import EXAM_EXTRA
from data.synthetic.plan import Case, Distractor, Problem

#: Section key -> names used for it (picked at random per note).
SECTION_NAMES: dict[str, tuple[str, ...]] = {
    "cc": ("Chief Complaint", "Reason for Visit", "CC", "Presenting Complaint"),
    "hpi": ("History of Present Illness", "HPI", "Subjective", "History"),
    "pmh": ("Past Medical History", "PMH", "Medical History", "Active Problems"),
    "psh": ("Past Surgical History", "PSH", "Surgical History"),
    "meds": ("Medications", "Current Medications", "Meds", "Outpatient Medications"),
    "allergies": ("Allergies", "Drug Allergies", "Allergy"),
    "social": ("Social History", "SH", "Social Hx"),
    "family": ("Family History", "FH", "Family Hx"),
    "ros": ("Review of Systems", "ROS", "Systems Review"),
    "vitals": ("Vital Signs", "Vitals", "VS"),
    "exam": ("Physical Exam", "Physical Examination", "Exam", "PE", "Objective"),
    "results": ("Results", "Data Reviewed", "Labs", "Diagnostics"),
    "ap": ("Assessment and Plan", "Assessment/Plan", "A/P", "Impression and Plan", "Plan"),
    "procedures": ("Procedures", "Procedures Performed", "In-Office Procedures"),
    "billing": ("Time/Complexity", "Attestation", "Billing", "Visit Level"),
    "dx": ("Diagnoses", "Discharge Diagnoses", "Final Diagnoses", "Impression"),
    "course": ("Hospital Course", "Course", "Clinical Course", "ED Course"),
    "disposition": ("Disposition", "Follow-up", "Discharge Instructions"),
}

#: Header style -> split. Test and dev notes use styles the training notes never use.
HEADER_STYLES: dict[str, str] = {
    "caps": "train",
    "title": "train",
    "md": "train",
    "under": "train",
    "abbr": "train",
    "dash": "dev",
    "lower": "dev",
    "bracket": "test",
    "numbered": "test",
}
STYLES_BY_SPLIT: dict[str, tuple[str, ...]] = {
    s: tuple(k for k, v in HEADER_STYLES.items() if v == s) for s in ("train", "dev", "test")
}


class Headers:
    def __init__(self, style: str, rng: random.Random) -> None:
        self.style = style
        self.rng = rng
        self.n = 0

    def __call__(self, b: NoteBuilder, key: str) -> None:
        names = SECTION_NAMES[key]
        name = names[self.rng.randrange(len(names))]
        self.n += 1
        s = self.style
        if b.pos and not b.parts[-1].endswith("\n\n"):
            b.add("\n")
        if s == "caps":
            b.add(f"{name.upper()}:\n")
        elif s == "title":
            b.add(f"{name}:\n")
        elif s == "md":
            b.add(f"## {name}\n")
        elif s == "under":
            b.add(f"{name}\n{'-' * len(name)}\n")
        elif s == "abbr":
            b.add(f"{name}: ")
        elif s == "dash":
            b.add(f"{name.upper()} --\n")
        elif s == "lower":
            b.add(f"{name.lower()}:\n")
        elif s == "bracket":
            b.add(f"[{name}]\n")
        else:
            b.add(f"{self.n}. {name.upper()}\n")


def dx_writer(p: Problem, lowercase: bool = False):  # noqa: ANN201 - returns a slot writer
    """A slot value that writes the problem's phrase as a gold mention."""

    def write(b: NoteBuilder, upper: bool) -> None:
        start = b.pos
        b.mention(p.phrase, "ICD-10-CM", p.code, capitalize=upper)
        for extra in p.also:
            b.code_span("ICD-10-CM", extra, start, b.pos)

    return write


def distractor_writer(d: Distractor):  # noqa: ANN201
    def write(b: NoteBuilder, upper: bool) -> None:
        b.distractor(d.phrase, "ICD-10-CM", d.code, d.reason, capitalize=upper)

    return write


def join_mentions(problems: list[Problem]):  # noqa: ANN201
    """Slot writer: 'A, B and C' with each problem labelled."""

    def write(b: NoteBuilder, upper: bool) -> None:
        for i, p in enumerate(problems):
            if i:
                b.add(" and " if i == len(problems) - 1 else ", ")
            dx_writer(p)(b, upper and i == 0)

    return write


def join_distractors(items: list[Distractor]):  # noqa: ANN201
    """Slot writer: 'A, B and C' with each mention labelled as a distractor."""

    def write(b: NoteBuilder, upper: bool) -> None:
        for i, d in enumerate(items):
            if i:
                b.add(" and " if i == len(items) - 1 else ", ")
            b.distractor(d.phrase, "ICD-10-CM", d.code, d.reason, capitalize=upper and i == 0)

    return write


def vitals(b: NoteBuilder, case: Case, bmi_problem: Problem | None) -> None:
    r = b.rng
    sbp, dbp = r.randint(102, 168), r.randint(60, 98)
    hr, rr = r.randint(56, 112), r.randint(12, 22)
    temp = round(r.uniform(97.0, 100.8), 1)
    spo2 = r.randint(91, 100)
    wt = r.randint(48, 130) if case.age >= 14 else r.randint(3, 50)
    if case.age < 12:
        wt = 3 + case.age * 3 + r.randint(0, 3 + case.age)
        hr, rr = r.randint(80, 150 if case.age < 2 else 120), r.randint(18, 40)
        b.add(f"T {temp} F, HR {hr}, RR {rr}, SpO2 {spo2}%, weight {wt} kg\n")
        return
    fmt = r.randrange(3)
    if fmt == 0:
        b.add(f"BP {sbp}/{dbp} | HR {hr} | RR {rr} | T {temp} F | SpO2 {spo2}% RA | Wt {wt} kg")
    elif fmt == 1:
        b.add(
            f"Blood pressure {sbp}/{dbp} mmHg, pulse {hr}, respirations {rr}, "
            f"temperature {round((temp - 32) / 1.8, 1)} C, oxygen saturation {spo2}% on room "
            f"air, weight {wt} kg"
        )
    else:
        b.add(f"T: {temp}  P: {hr}  R: {rr}  BP: {sbp}/{dbp}  O2 sat: {spo2}%  Wt: {wt} kg")
    if bmi_problem is not None:
        b.add(", ")
        b.mention(bmi_problem.phrase, "ICD-10-CM", bmi_problem.code)
    b.add("\n")


OTHER_MEDS = (
    "vitamin D3 1000 IU daily",
    "aspirin 81 mg daily",
    "multivitamin daily",
    "acetaminophen 500 mg PRN",
    "fish oil 1 g daily",
    "loratadine 10 mg daily",
    "docusate 100 mg PRN",
    "magnesium oxide 400 mg daily",
)


def meds(b: NoteBuilder, case: Case, meds_by_code: dict[str, tuple[str, ...]]) -> None:
    r = b.rng
    items: list[str] = []
    for p in case.problems:
        options = meds_by_code.get(p.code, ())
        if options:
            items.append(options[r.randrange(len(options))])
    for _ in range(r.randint(0, 3)):
        m = OTHER_MEDS[r.randrange(len(OTHER_MEDS))]
        if m not in items:
            items.append(m)
    if not items:
        b.add("None reported.\n")
        return
    bullet = r.choice(("- ", "* ", "", "• "))
    if r.random() < 0.3:
        b.add("; ".join(items) + ".\n")
    else:
        for m in items:
            b.add(f"{bullet}{m}\n")


ALLERGIES = (
    "NKDA",
    "No known drug allergies.",
    "Penicillin (rash)",
    "Sulfa - hives",
    "Codeine (nausea)",
    "NKA",
    "Lisinopril (angioedema)",
    "Iodinated contrast",
)

ROS_SYSTEMS = (
    "Constitutional",
    "Eyes",
    "ENT",
    "Cardiovascular",
    "Respiratory",
    "GI",
    "GU",
    "Musculoskeletal",
    "Skin",
    "Neurological",
    "Psychiatric",
    "Heme/Lymph",
)


def ros(b: NoteBuilder, case: Case) -> None:
    r = b.rng
    if case.ros_negatives:
        b.frame("ros_lead", {})
        negs = case.ros_negatives
        for i, d in enumerate(negs):
            if i:
                b.add(", or " if i == len(negs) - 1 and r.random() < 0.5 else ", ")
            b.distractor(d.phrase, "ICD-10-CM", d.code, d.reason)
        b.add(". ")
    if r.random() < 0.5:
        b.add("All other systems reviewed and negative.\n")
    else:
        systems = r.sample(ROS_SYSTEMS, r.randint(2, 6))
        b.add(" ".join(f"{s}: negative." for s in systems) + "\n")


EXAM = {
    "General": (
        "alert, oriented, in no acute distress",
        "well-appearing",
        "NAD, pleasant",
        "appears stated age, comfortable",
    ),
    "HEENT": (
        "normocephalic, atraumatic, PERRL, oropharynx clear",
        "TMs clear bilaterally",
        "moist mucous membranes, no pharyngeal erythema",
    ),
    "Neck": ("supple, no lymphadenopathy, no JVD", "no thyromegaly", "trachea midline"),
    "Cardiovascular": (
        "regular rate and rhythm, no murmurs, rubs or gallops",
        "RRR, S1 S2 normal",
        "distal pulses 2+ and symmetric",
    ),
    "Lungs": (
        "clear to auscultation bilaterally",
        "CTAB, no wheezes or crackles",
        "good air movement, unlabored",
    ),
    "Abdomen": (
        "soft, nontender, nondistended, normal bowel sounds",
        "soft, NT/ND",
        "no hepatosplenomegaly, no guarding",
    ),
    "Extremities": (
        "no edema, warm and well perfused",
        "no clubbing or cyanosis",
        "full range of motion",
    ),
    "Skin": ("warm and dry, no rashes", "intact, normal turgor", "no lesions of concern"),
    "Neuro": (
        "cranial nerves II-XII grossly intact, strength 5/5 throughout",
        "A&O x3, nonfocal",
        "gait normal, sensation intact",
    ),
    "Psych": ("normal mood and affect", "appropriate, good insight", "calm and cooperative"),
}


def exam(b: NoteBuilder, n_systems: int) -> None:
    r = b.rng
    keys = list(EXAM)
    chosen = keys[:2] + r.sample(keys[2:], min(max(0, n_systems - 2), len(keys) - 2))
    sep = "\n" if r.random() < 0.7 else " "
    out = []
    for k in chosen:
        opts = EXAM[k]
        out.append(f"{k}: {cap(opts[r.randrange(len(opts))])}.")
    if n_systems > 6:
        out += r.sample(EXAM_EXTRA, r.randint(1, 3))
    b.add(sep.join(out) + "\n")


def labs(b: NoteBuilder) -> None:
    r = b.rng
    lines = [
        f"WBC {round(r.uniform(3.8, 14.5), 1)}, Hgb {round(r.uniform(9.5, 16.2), 1)}, "
        f"Plt {r.randint(140, 420)}",
        f"Na {r.randint(131, 145)}, K {round(r.uniform(3.3, 5.3), 1)}, "
        f"Cr {round(r.uniform(0.6, 2.4), 2)}, BUN {r.randint(7, 38)}, "
        f"glucose {r.randint(78, 260)}",
        f"A1c {round(r.uniform(5.2, 10.5), 1)}%",
        f"LDL {r.randint(55, 190)}, HDL {r.randint(30, 75)}, TG {r.randint(70, 320)}",
        f"TSH {round(r.uniform(0.4, 7.8), 2)}",
        f"eGFR {r.randint(18, 98)}",
        f"UA: {r.choice(['negative', 'trace protein', '1+ leukocyte esterase, nitrite negative'])}",
    ]
    picked = r.sample(lines, r.randint(1, 4))
    b.add("\n".join(picked) + "\n")


STATUS = (
    "stable",
    "well controlled",
    "improving",
    "worsening",
    "not at goal",
    "newly diagnosed",
    "chronic, stable on current regimen",
    "suboptimally controlled",
    "symptomatic today",
    "unchanged from prior",
    "doing well",
    "mildly improved",
)
PLANS = (
    "Continue current medications.",
    "Follow up in 3 months.",
    "Recheck labs in 6 weeks.",
    "Increase dose as discussed.",
    "Lifestyle modification counseling provided.",
    "Return in 2 weeks for reassessment.",
    "Patient education given; questions answered.",
    "Refer to specialist for further evaluation.",
    "Monitor closely.",
    "Start new medication and reassess.",
    "Discussed risks and benefits of treatment.",
    "Supportive care, fluids and rest.",
    "Home exercise program reviewed.",
    "Continue to monitor; no change today.",
    "Titrate therapy to goal.",
)


SCREEN_STATUS = ("addressed today", "due", "discussed", "completed today", "up to date after today")
SCREEN_PLANS = (
    "Order placed.",
    "Results to follow.",
    "Patient agreeable.",
    "Handout given.",
    "Will track in health maintenance.",
)


def status_plan(b: NoteBuilder, screening: bool = False) -> dict[str, str]:
    r = b.rng
    plans = SCREEN_PLANS if screening else PLANS
    statuses = SCREEN_STATUS if screening else STATUS
    i = r.randrange(len(plans))
    plan = plans[i]
    if r.random() < 0.4:
        plan += " " + plans[(i + 1 + r.randrange(len(plans) - 1)) % len(plans)]
    return {
        "status": statuses[r.randrange(len(statuses))],
        "plan": plan,
        "plan_lc": plan[:1].lower() + plan[1:],
    }
