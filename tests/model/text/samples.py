"""Sample notes written for the text-analysis tests (no patient data) and helpers."""

from __future__ import annotations

#: A bullet-style outpatient note written for these tests (not patient data).
BULLET_NOTE = """\
CC: chest pain x 2 days
HPI: 58 yo M with HTN presents with substernal chest pain. Denies shortness of breath, \
nausea or diaphoresis. No history of MI.
PMH:
- Hypertension
- Type 2 diabetes mellitus
PSH: s/p appendectomy (2001)
FHx: mother with breast cancer; father had MI at 60.
Social History: former smoker, quit 2010. Drinks socially.
Meds: lisinopril 10 mg daily, metformin 500 mg b.i.d.
Allergies: NKDA
ROS: Negative for fever, chills, cough. Positive for fatigue.
Physical Exam: BP 150/90. HR 88. Lungs clear. No edema.
ASSESSMENT AND PLAN:
1. Chest pain - possible unstable angina; rule out MI with serial troponins.
2. HTN - not well controlled, increase lisinopril.
3. DM2 - continue metformin. Return to the ED if symptoms worsen.
"""

#: CodiEsp-style English case report (one sentence per line), written for these tests.
CODIESP_STYLE = """\
We present the case of a 64-year-old woman with a history of arterial hypertension and \
dyslipidemia who consulted for dyspnea of 2 weeks of evolution.
She did not report fever or chest pain.
Physical examination: BP 140/85 mmHg; HR 98 bpm; T 36.8 C.
Analytical data: Hb 11.2 g/dl; leukocytes 9.300/mm3; creatinine 1.1 mg/dl.
Chest X-ray showed bilateral pleural effusion without consolidation.
Pulmonary thromboembolism was ruled out by CT angiography.
With the suspicion of heart failure, treatment with diuretics was started.
Family history: her mother died of colon cancer.
"""


def find(text: str, phrase: str, nth: int = 0) -> tuple[int, int]:
    """Offsets of the `nth` occurrence of `phrase` in `text`."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(phrase, start + 1)
    return start, start + len(phrase)
