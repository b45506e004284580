"""Uncoded clinical prose that gives notes realistic length and texture.

Nothing here names a diagnosis or a procedure: these sentences must never need a code, so the
gold labels stay complete whatever filler a note receives.
"""

from __future__ import annotations

import random

HPI_EXTRA = (
    "{Pron} has been checking {pos} readings at home and brought a log today.",
    "No recent travel or sick contacts.",
    "{Pron} is accompanied by {pos} daughter, who helps with medications.",
    "Sleep has been fair, about six hours a night.",
    "Appetite is preserved and weight is stable per {pos} report.",
    "{Pron} tried over-the-counter remedies with partial relief.",
    "{Pron} has not been to urgent care or the emergency department since the last visit.",
    "Prior records from the outside clinic were reviewed.",
    "{Pron} works full time and finds it hard to keep appointments.",
    "Last visit was about four months ago; labs at that time were reviewed.",
    "Symptoms are worse in the evening and better with rest.",
    "{Pron} denies any recent medication changes by other providers.",
    "Adherence has improved since the pill organizer was started.",
    "{Pron} would like to avoid adding more medications if possible.",
    "Interval history otherwise unremarkable.",
    "{Pos} spouse reports no changes in behavior or memory.",
)
PLAN_EXTRA = (
    "Medications reconciled and updated in the chart.",
    "Risks, benefits and alternatives were discussed, and the patient agrees with the plan.",
    "After-visit summary printed and reviewed with the patient.",
    "Patient verbalized understanding of the plan and return precautions.",
    "Care coordinated with the patient's pharmacy regarding refills.",
    "Prior authorization to be submitted by our office staff.",
    "We will call with results when available.",
    "Questions were answered to the patient's satisfaction.",
    "Shared decision making used; handout provided.",
    "Total medication list reviewed for interactions.",
    "Nurse follow-up call scheduled for next week.",
    "Portal message sent with instructions.",
)
COUNSELING = (
    "Discussed a balanced diet with emphasis on vegetables, whole grains and lean protein.",
    "Encouraged at least 150 minutes of moderate exercise per week.",
    "Reviewed seat belt use, smoke and carbon monoxide detectors, and safe storage of firearms.",
    "Advised sunscreen and protective clothing.",
    "Discussed alcohol limits and safe medication storage.",
    "Reviewed dental care every six months and daily brushing.",
    "Discussed sleep hygiene and limiting screens before bed.",
    "Reviewed advance directive status; patient will bring a copy.",
    "Discussed fall prevention at home, including lighting and removing loose rugs.",
    "Reviewed recommended screenings and their timing.",
)
HOSPITAL_DAYS = (
    "On hospital day {d}, {pron} was afebrile with stable vital signs and tolerating a diet.",
    "Day {d}: labs were trended and medications adjusted; ambulating with physical therapy.",
    "By day {d} {pron} felt better, and oral medications were resumed.",
    "On day {d} the case was discussed with the consulting team, who agreed with the plan.",
    "Hospital day {d}: intravenous therapy was transitioned to oral; no new events overnight.",
    "Day {d}: case management met with the patient to arrange discharge needs.",
    "Overnight on day {d} there were no events; telemetry was unremarkable.",
    "On day {d}, repeat labs showed improvement and the regimen was simplified.",
    "Day {d}: diet advanced without difficulty; pain controlled with oral medication.",
    "On day {d}, {pron} walked the hallway twice with nursing.",
    "Day {d}: consultant recommendations were implemented and reviewed with {pos} family.",
    "On hospital day {d}, lines were removed and {pron} remained stable on room air.",
)
EXAM_EXTRA = (
    "Capillary refill under 2 seconds.",
    "No lymphadenopathy in the cervical, axillary or inguinal regions.",
    "Speech fluent; follows commands.",
    "Mucous membranes moist.",
    "No costovertebral angle tenderness.",
    "Gait steady without assistive device.",
)


def _fill(template: str, ctx: dict[str, str], d: int = 0) -> str:
    pron, pos = ctx["pron"], ctx["pos"]
    return template.format(Pron=pron.capitalize(), pron=pron, Pos=pos.capitalize(), pos=pos, d=d)


def sentences(rng: random.Random, pool: tuple[str, ...], k: int, ctx: dict[str, str]) -> str:
    """`k` distinct sentences of `pool`, joined by spaces."""
    if k <= 0:
        return ""
    picked = rng.sample(pool, min(k, len(pool)))
    return " ".join(_fill(t, ctx) for t in picked)


def hospital_days(rng: random.Random, los: int, ctx: dict[str, str]) -> str:
    days = [d for d in range(1, los + 1) if rng.random() < 0.7] or [1]
    return " ".join(_fill(HOSPITAL_DAYS[rng.randrange(len(HOSPITAL_DAYS))], ctx, d) for d in days)


PROCEDURE_DETAIL = (
    "The site was identified and marked, and the correct side was confirmed with the patient.",
    "Local anesthesia was infiltrated, and adequate anesthesia was confirmed before starting.",
    "Sterile technique was maintained throughout, with full barrier precautions.",
    "The equipment was checked and functioning prior to the start of the procedure.",
    "Vital signs remained stable for the duration of the procedure.",
    "The patient was monitored continuously with pulse oximetry.",
    "A sterile dressing was applied at the end of the case.",
    "Instrument and sponge counts were correct at the end of the procedure.",
    "The patient was observed for 20 minutes afterward without any adverse reaction.",
    "Post-procedure instructions were reviewed verbally and in writing.",
    "The patient was transferred to recovery in good condition.",
    "Findings and next steps were discussed with the patient and family afterward.",
)
IMAGING_DETAIL = (
    "Alignment is maintained.",
    "No pleural effusion or pneumothorax is seen.",
    "The visualized soft tissues are within normal limits.",
    "There is no free air.",
    "Bone mineralization is appropriate for age.",
    "The cardiomediastinal silhouette is within normal limits for technique.",
    "No suspicious mass is identified in the imaged field.",
    "Vascular structures opacify normally.",
    "Mild motion artifact limits evaluation of fine detail.",
    "Comparison with the prior study shows no interval change elsewhere.",
)
DISCHARGE_INSTRUCTIONS = (
    "Resume a regular diet as tolerated.",
    "Activity as tolerated; no heavy lifting for two weeks.",
    "Take all medications as prescribed; a written list was provided.",
    "Call the clinic or return for worsening symptoms, chest discomfort or trouble breathing.",
    "Home health nursing will visit within 48 hours.",
    "Outpatient labs have been ordered before the follow-up appointment.",
    "Pending at discharge: final culture results, which will be followed by the PCP.",
    "Code status during admission: full code.",
    "The patient and family agree with the discharge plan.",
    "Medication changes were reviewed with the patient, including new and stopped drugs.",
    "Physical therapy recommends a rolling walker at home.",
    "Diet education completed by nutrition services.",
)

PROBLEM_COURSE = (
    "Home regimen was continued with close monitoring.",
    "Daily labs were followed and remained acceptable.",
    "Doses were adjusted on the second day with good effect.",
    "The consulting service followed along and agreed with management.",
    "No changes were needed during the stay.",
    "Treatment was escalated briefly and then weaned as {pron} improved.",
    "Education was provided at the bedside by nursing.",
    "This remained stable throughout the admission.",
    "Will need reassessment at the follow-up visit.",
    "Therapy was narrowed once results returned.",
    "Pharmacy reviewed dosing given renal function.",
    "Outpatient records were obtained and reconciled.",
    "{Pron} tolerated the changes without side effects.",
    "Targets were reviewed with {pos} family before discharge.",
    "This was addressed in detail with the patient.",
    "Further workup was deferred to the outpatient setting.",
)
NARRATIVE = (
    "Blood tests on admission were notable only for mild abnormalities that later normalized.",
    "Imaging was obtained and reviewed with the radiologist.",
    "Treatment was started on the day of presentation, with a favorable response.",
    "The patient was followed in clinic at one, three and six months.",
    "At the most recent follow-up, {pron} remained asymptomatic and was back to baseline.",
    "The case was discussed at the multidisciplinary conference.",
    "Serial examinations documented steady improvement.",
    "A repeat study at three months showed no progression.",
    "The family was informed of the findings and agreed with the approach.",
    "Given the clinical picture, a conservative approach was chosen initially.",
    "{Pron} had no known drug allergies and took no regular medications besides those listed.",
    "Vital signs on arrival were within normal limits apart from mild tachycardia.",
    "Histology of the sample was reviewed by two pathologists.",
)

CHILD_COUNSELING = (
    "Reviewed car seat use appropriate for age and weight.",
    "Discussed safe sleep, feeding and expected growth.",
    "Reviewed developmental milestones with the parent; on track.",
    "Discussed screen time limits and reading together daily.",
    "Reviewed water safety and sun protection.",
    "Discussed healthy snacks, juice limits and physical activity.",
    "Reviewed dental care and fluoride varnish.",
    "Parent questions about sleep and behavior were answered.",
)
