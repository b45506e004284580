"""Sample what a note is about: patient, diagnoses, distractors, procedures and the E/M level.

A `Case` holds only codes and the phrasings chosen for them; `compose` turns it into text.
Coding rules applied here (ICD-10-CM Official Guidelines, CPT E/M 2021+ rules):

* hypertension + CKD is coded I12.9 (I12.0 at stage 5/ESRD), + heart failure I11.0, + both I13.0
  (I13.2) (presumed causal links, guideline I.C.9.a), and diabetes + CKD is coded E11.22 /
  E10.22 (the "with" convention; beside another complication's code, not instead of it), each
  with the stage code N18.x;
* obesity carries its BMI Z68 code; insulin / oral agents / anticoagulants their Z79 codes;
* office E/M level follows the documented total time or MDM; new vs established patient;
  telehealth uses 98000-98015 by modality and time; ED 99281-99285 by MDM; discharge day
  99238/99239 by time; preventive 9938x/9939x by age, or the Medicare AWV (G0438/G0439).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from data.synthetic.lexicon import Condition, Lexicon, Procedure

NOTE_TYPES: dict[str, int] = {
    "office": 30,
    "ED": 13,
    "procedure": 12,
    "discharge": 12,
    "telehealth": 10,
    "preventive": 12,
    "consult": 17,
}
MDM_WORDS = {2: "straightforward", 3: "low", 4: "moderate", 5: "high"}
OFFICE_TIME = {
    ("new", 2): (15, 29),
    ("new", 3): (30, 44),
    ("new", 4): (45, 59),
    ("new", 5): (60, 74),
    ("est", 2): (10, 19),
    ("est", 3): (20, 29),
    ("est", 4): (30, 39),
    ("est", 5): (40, 54),
}
#: Telehealth (98000-98015) shares the office visits' time thresholds: new patients 15/30/45/60
#: minutes, established 10/20/30/40.
TELE_TIME = OFFICE_TIME
CONSULT_TIME = {2: (20, 29), 3: (30, 39), 4: (40, 54), 5: (55, 80)}
#: Specialties that do the any-specialty ("*") labs, injections and vaccines in the office.
GENERALISTS = frozenset(
    {
        "family medicine",
        "internal medicine",
        "pediatrics",
        "emergency medicine",
        "hospital medicine",
        "obstetrics and gynecology",
        "infectious disease",
    }
)
#: Age ranges (years) for procedures that only fit some ages (vaccines, adult screening).
PROC_AGES: dict[str, tuple[int, int]] = {
    "90715": (7, 120),
    "90750": (50, 120),
    "90732": (65, 120),
    "90677": (0, 120),
    "90700": (0, 6),
    "90744": (0, 18),
    "90651": (9, 45),
    "90707": (1, 120),
    "90716": (1, 120),
    "90686": (1, 120),
    "90460": (0, 18),
    "99406": (12, 120),
    "99407": (12, 120),
    "99497": (18, 120),
    "77067": (40, 120),
    "77080": (50, 120),
    "G0296": (50, 80),
    "84153": (40, 120),
    "G0103": (50, 120),
    "G0102": (50, 120),
    "96110": (0, 5),
    "92557": (3, 120),
}
#: Problem kinds a coder may list as chronic comorbidities.
COMORBID_KINDS = ("chronic", "status")


@dataclass
class Problem:
    code: str
    phrase: str
    role: str  # principal | secondary | external | place | bmi
    also: tuple[str, ...] = ()  # further codes this same mention is evidence for
    kind: str = "tail"


@dataclass
class Distractor:
    reason: str  # negated | uncertain | hypothetical | family_history | history | resolved
    code: str
    phrase: str
    z_code: str | None = None  # gold history code the mention implies


@dataclass
class Proc:
    system: str
    code: str
    phrase: str
    kind: str


@dataclass
class Case:
    split: str
    note_type: str
    specialty: str
    setting: str
    age: int
    sex: str
    dos: dt.date
    new_patient: bool
    problems: list[Problem] = field(default_factory=list)
    distractors: list[Distractor] = field(default_factory=list)
    ros_negatives: list[Distractor] = field(default_factory=list)
    integral: list[Distractor] = field(default_factory=list)  # symptoms of a coded diagnosis
    procs: list[Proc] = field(default_factory=list)
    ordered: list[Proc] = field(default_factory=list)
    em: tuple[str, str] | None = None  # (system, code)
    em_basis: str = "mdm"  # time | mdm
    em_minutes: int = 0
    em_level: int = 3
    extra_em: list[tuple[str, str]] = field(default_factory=list)  # 99417, G2211, 99213-25
    modality: str = ""  # video | audio for telehealth
    subsequent: bool = False  # injury follow-up coded with 7th character D
    bmi: float = 0.0


def group(code: str) -> str:
    """Codes of one group never co-occur in a note (one diabetes code, one CKD stage...)."""
    head = code[:3]
    if head in ("I10", "I11", "I12", "I13"):
        return "HTN"
    if head in ("E08", "E09", "E10", "E11", "E13", "R73"):
        return "DM"
    if head in ("F17", "Z72") or code == "Z87.891":
        return "TOB"
    if head in ("F32", "F33"):
        return "DEP"
    if head in ("J44", "J43"):
        return "COPD"
    if head in ("I48", "I49"):
        return "ARR"
    return head


class Pools:
    """Weighted code pools per (split, specialty), built lazily and cached."""

    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex
        self._cache: dict[tuple[str, str], tuple[list[Condition], list[float]]] = {}
        self._procs: dict[tuple[str, str, str, bool], list[Procedure]] = {}

    def _build(self, key: tuple[str, str]) -> tuple[list[Condition], list[float]]:
        split, name = key
        conds: list[Condition] = []
        if name == "_comorbid":
            conds = [
                c
                for c in self.lex.conditions.values()
                if c.tier == "common"
                and c.kind in COMORBID_KINDS
                and c.phrases[split]
                and not c.code.startswith("Z79")  # drug-therapy status comes with its disease
            ]
            weights = [c.weight for c in conds]
        elif name.startswith("_kind:"):
            kinds = name[6:].split(",")
            conds = [
                c
                for c in self.lex.conditions.values()
                if c.kind in kinds and c.phrases[split] and c.tier == "common"
            ]
            weights = [c.weight for c in conds]
        elif name.startswith("_chapter:"):
            chapter = int(name[9:])
            conds = [
                c for c in self.lex.conditions.values() if c.chapter == chapter and c.phrases[split]
            ]
            weights = [c.weight * (4.0 if c.tier == "common" else 1.0) for c in conds]
        else:
            prefixes = tuple(self.lex.specialties[name]["prefixes"])  # type: ignore[arg-type]
            for c in self.lex.conditions.values():
                if not c.phrases[split] or not c.code.startswith(prefixes):
                    continue
                if c.kind in ("external", "newborn") and name != "pediatrics":
                    continue
                if c.code.startswith(("Z68", "Z3A")):
                    continue
                conds.append(c)
            weights = [c.weight * 6.0 if c.tier == "common" else 1.0 for c in conds]
        conds_sorted = sorted(zip(conds, weights, strict=True), key=lambda cw: cw[0].code)
        return [c for c, _ in conds_sorted], list(accumulate(w for _, w in conds_sorted))

    def draw(self, rng: random.Random, split: str, name: str) -> Condition | None:
        key = (split, name)
        if key not in self._cache:
            self._cache[key] = self._build(key)
        conds, cum = self._cache[key]
        if not conds:
            return None
        return conds[bisect.bisect(cum, rng.random() * cum[-1])]

    def procedures(
        self, split: str, specialty: str, kinds: tuple[str, ...], specific: bool = False
    ) -> list[Procedure]:
        """Procedures of `kinds` done by `specialty`; `specific` drops the any-specialty ones."""
        key = (split, specialty, ",".join(kinds), specific)
        if key not in self._procs:
            self._procs[key] = sorted(
                (
                    p
                    for p in self.lex.procedures.values()
                    if p.kind in kinds
                    and p.phrases[split]
                    and (
                        specialty in p.specialties
                        or ("*" in p.specialties and not specific and specialty in GENERALISTS)
                    )
                ),
                key=lambda p: (p.system, p.code),
            )
        return self._procs[key]


def phrase_of(rng: random.Random, cond: Condition, split: str) -> str:
    ps = cond.phrases[split]
    return ps[rng.randrange(len(ps))]


def compatible(c: Condition, age: int, sex: str) -> bool:
    return (c.sex is None or c.sex == sex) and c.min_age <= age <= c.max_age


def _weighted(rng: random.Random, table: dict[str, int]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys])[0]


class Planner:
    """Samples `Case`s from the lexicon; one instance per process, reused across notes."""

    def __init__(
        self,
        lex: Lexicon,
        allowed_procs: frozenset[tuple[str, str]] | None,
        conflict: Callable[[str, str], bool] | None = None,
        billable: Callable[[str], bool] | None = None,
    ) -> None:
        """`conflict(a, b)` says two ICD-10-CM codes must not be reported together
        (the catalog's Excludes1 check); notes never carry such a pair."""
        self.lex = lex
        self.conflict = conflict
        self.billable = billable
        self.pools = Pools(lex)
        self.allowed = allowed_procs
        specs = lex.specialties
        self.by_type: dict[str, dict[str, int]] = {
            nt: {s: int(v["note_types"][nt]) for s, v in specs.items() if nt in v["note_types"]}  # type: ignore[index,operator]
            for nt in NOTE_TYPES
        }

    # -- helpers ----------------------------------------------------------------------------
    def proc(self, rng: random.Random, split: str, system: str, code: str) -> Proc | None:
        p = self.lex.procedures.get((system, code))
        if p is None or not p.phrases[split]:
            return None
        if self.allowed is not None and (system, code) not in self.allowed:
            return None
        ps = p.phrases[split]
        return Proc(system, code, ps[rng.randrange(len(ps))], p.kind)

    def em_code(self, system: str, code: str) -> tuple[str, str]:
        return system, code

    def _add_problem(
        self, case: Case, rng: random.Random, cond: Condition, role: str, used: set[str]
    ) -> bool:
        g = group(cond.code)
        if g in used or not compatible(cond, case.age, case.sex):
            return False
        used.add(g)
        case.problems.append(
            Problem(cond.code, phrase_of(rng, cond, case.split), role, kind=cond.kind)
        )
        return True

    def _cond(self, code: str) -> Condition | None:
        return self.lex.conditions.get(code)

    # -- main -------------------------------------------------------------------------------
    def sample(self, rng: random.Random, split: str) -> Case:
        note_type = _weighted(rng, NOTE_TYPES)
        specialty = _weighted(rng, self.by_type[note_type])
        setting = {"ED": "ED", "discharge": "inpatient"}.get(note_type, "outpatient")
        if note_type == "consult" and rng.random() < 0.35:
            setting = "inpatient"
        lo, hi = self.lex.specialties[specialty]["ages"]  # type: ignore[misc]
        dos = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(700))
        case = Case(split, note_type, specialty, setting, 0, "F", dos, rng.random() < 0.25)
        used: set[str] = set()

        principal: Condition | None = None
        if note_type == "preventive":
            principal = None
        else:
            for _ in range(30):
                c = self.pools.draw(rng, split, specialty)
                if c is not None and max(c.min_age, lo) <= min(c.max_age, hi):
                    principal = c
                    break
        a_lo, a_hi = lo, hi
        if principal is not None:
            a_lo, a_hi = max(lo, principal.min_age), min(hi, principal.max_age)
        if specialty == "pediatrics" and principal is not None and principal.max_age == 0:
            a_lo = a_hi = 0
        # Skew adults older: most visits are by older patients.
        u = rng.random()
        case.age = a_lo + int((a_hi - a_lo) * (u**0.8 if a_hi > 30 else u))
        if principal is not None and principal.sex:
            case.sex = principal.sex
        elif specialty == "obstetrics and gynecology":
            case.sex = "F"
        else:
            case.sex = "F" if rng.random() < 0.54 else "M"
        if principal is not None:
            self._add_problem(case, rng, principal, "principal", used)
            self._subsequent_encounter(case, rng)

        if note_type == "preventive":
            self._plan_preventive(case, rng, used)
        n_sec = {
            "discharge": rng.randint(2, 9),
            "office": rng.randint(0, 4),
            "ED": rng.randint(0, 2),
            "procedure": rng.randint(0, 2),
            "telehealth": rng.randint(0, 2),
            "consult": rng.randint(1, 4),
            "preventive": rng.randint(0, 3),
        }[note_type]
        if case.age < 18:
            n_sec = min(n_sec, 1)
        tries = 0
        while n_sec > 0 and tries < 12:
            tries += 1
            name = "_comorbid" if rng.random() < 0.7 and case.age >= 18 else specialty
            if case.age < 18:
                name = "pediatrics"
            c = self.pools.draw(rng, split, name)
            if c is not None and self._add_problem(case, rng, c, "secondary", used):
                n_sec -= 1
        self._apply_coding_rules(case, rng, used)
        self._drop_conflicts(case)
        self._plan_injury_causes(case, rng)
        self._plan_distractors(case, rng, used)
        self._plan_procedures(case, rng)
        self._plan_em(case, rng)
        return case

    def _drop_conflicts(self, case: Case) -> None:
        """Keep problems in order, dropping any that an earlier one excludes (Excludes1)."""
        if self.conflict is None:
            return
        kept: list[Problem] = []
        for p in case.problems:
            if not any(self.conflict(k.code, p.code) for k in kept):
                kept.append(p)
        dropped = {p.code for p in case.problems} - {p.code for p in kept}
        for p in kept:  # a dropped problem's code is no longer evidenced by another mention
            p.also = tuple(c for c in p.also if c not in dropped)
        case.problems = kept

    def _plan_preventive(self, case: Case, rng: random.Random, used: set[str]) -> None:
        if case.age < 18:
            code = "Z00.129" if rng.random() < 0.75 else "Z00.121"
        elif case.specialty == "obstetrics and gynecology":
            code = "Z01.419" if rng.random() < 0.8 else "Z01.411"
        else:
            code = "Z00.00" if rng.random() < 0.6 else "Z00.01"
        cond = self._cond(code)
        if cond is not None and cond.phrases[case.split]:
            self._add_problem(case, rng, cond, "principal", used)
        screens = {
            "Z12.11": (45, 75, None),
            "Z12.31": (40, 74, "F"),
            "Z12.4": (21, 65, "F"),
            "Z12.5": (50, 70, "M"),
            "Z13.31": (12, 120, None),
            "Z13.1": (35, 70, None),
        }
        for code, (lo, hi, sex) in screens.items():
            c = self._cond(code)
            if (
                c is not None
                and lo <= case.age <= hi
                and sex in (None, case.sex)
                and rng.random() < 0.35
            ):
                self._add_problem(case, rng, c, "secondary", used)

    def _apply_coding_rules(self, case: Case, rng: random.Random, used: set[str]) -> None:
        codes = {p.code: p for p in case.problems}
        ckd = next((p for p in case.problems if p.code.startswith("N18")), None)
        for p in list(case.problems):
            c = p.code
            if c in ("I12.9", "I13.0", "E11.22") and ckd is None:
                stage = rng.choice(["N18.2", "N18.30", "N18.31", "N18.32", "N18.4"])
                ckd = self._push(case, rng, stage, "secondary", used)
            if c in ("I13.0", "I11.0") and not any(x.startswith("I50") for x in codes):
                self._push(case, rng, rng.choice(["I50.9", "I50.22", "I50.32"]), "secondary", used)
            if c in ("E11.65", "E10.65", "E10.9") and rng.random() < 0.6 and c.startswith("E11"):
                self._push(case, rng, "Z79.4", "secondary", used)
            elif c.startswith("E11") and rng.random() < 0.35:
                self._push(case, rng, "Z79.84", "secondary", used)
            if c.startswith("I48") and rng.random() < 0.6:
                self._push(case, rng, "Z79.01", "secondary", used)
            if c.startswith(("E66.0", "E66.9", "E66.3")) and case.age >= 20:
                lo, hi = {"E66.0": (40.0, 49.9), "E66.9": (30.0, 39.9), "E66.3": (25.0, 29.9)}[
                    c[:5]
                ]
                case.bmi = round(rng.uniform(lo, hi), 1)
                n = int(case.bmi)
                z = f"Z68.{n}" if n < 40 else f"Z68.{41 + min((n - 40) // 5, 4)}"
                case.problems.append(Problem(z, f"BMI {case.bmi}", "bmi", kind="status"))
        # The presumed links, once the pushes above have added any CKD stage or heart failure:
        # hypertension with CKD, heart failure or both (I.C.9.a); diabetes with CKD ("with",
        # I.A.15). A hypertensive code drawn on its own takes the link it lacks (I12.9 beside
        # heart failure is I13.0). A diabetes code naming another complication keeps it and
        # gains the kidney one, as many E10/E11 codes as the complications need (I.C.4.a); the
        # nephropathy code E1x.21 is left as it is.
        ckd = next((p for p in case.problems if p.code.startswith("N18")), None)
        hf = next((p for p in case.problems if p.code.startswith("I50")), None)
        stage5 = ckd is not None and ckd.code in ("N18.5", "N18.6")  # its own combinations
        gained: list[str] = []  # combinations a diabetes code gains beside its own
        for p in case.problems:
            if p.code == "I10" and (ckd is not None or hf is not None):
                if hf is None:
                    p.code = "I12.0" if stage5 else "I12.9"
                else:
                    p.code = "I11.0" if ckd is None else ("I13.2" if stage5 else "I13.0")
            elif p.code == "I11.0" and ckd is not None:
                p.code = "I13.2" if stage5 else "I13.0"
            elif p.code in ("I12.9", "I12.0") and (hf is not None or stage5):
                p.code = ("I13.2" if stage5 else "I13.0") if hf is not None else "I12.0"
            elif p.code == "I13.0" and stage5:
                p.code = "I13.2"
            elif ckd is not None and p.code[:3] in ("E10", "E11"):
                combo = p.code[:3] + ".22"
                if p.code.endswith(".9"):
                    p.code = combo
                elif p.code[4:6] not in ("21", "22") and all(
                    q.code != combo for q in case.problems
                ):
                    p.also = (*p.also, combo)
                    gained.append(combo)
        # The CKD and heart-failure mentions are also evidence for the combination code.
        if ckd is not None:
            combo = tuple(
                p.code
                for p in case.problems
                if p.code in ("I12.9", "I12.0", "I13.0", "I13.2", "E11.22", "E10.22")
            )
            ckd.also = tuple(dict.fromkeys((*ckd.also, *combo, *gained)))
        if hf is not None and hf in case.problems:
            combo = tuple(p.code for p in case.problems if p.code in ("I11.0", "I13.0", "I13.2"))
            if combo:
                hf.also = tuple(dict.fromkeys((*hf.also, *combo)))

    def _push(
        self, case: Case, rng: random.Random, code: str, role: str, used: set[str]
    ) -> Problem | None:
        c = self._cond(code)
        if c is None or not c.phrases[case.split] or code in {p.code for p in case.problems}:
            return None
        used.add(group(code))
        prob = Problem(code, phrase_of(rng, c, case.split), role, kind=c.kind)
        case.problems.append(prob)
        return prob

    def _subsequent_encounter(self, case: Case, rng: random.Random) -> None:
        """Injury follow-up in the office during healing: 7th character D, not A."""
        p = case.problems[0] if case.problems else None
        if (
            p is None
            or self.billable is None
            or p.kind != "injury"
            or case.note_type not in ("office", "telehealth")
            or case.new_patient
            or len(p.code) != 8
            or p.code[-1] != "A"
        ):
            return
        d_code = p.code[:-1] + "D"
        if self.billable(d_code):
            p.code = d_code
            p.role = "principal"
            case.subsequent = True

    def _plan_injury_causes(self, case: Case, rng: random.Random) -> None:
        if not case.problems or case.problems[0].kind != "injury":
            return
        if case.setting not in ("ED",) and case.specialty not in ("orthopedics", "pediatrics"):
            return
        if case.subsequent and rng.random() < 0.5:
            return
        if rng.random() < 0.7:
            c = self.pools.draw(rng, case.split, "_chapter:20")
            if c is not None and not c.code.startswith("Y92"):
                code = c.code
                if case.subsequent and self.billable is not None:
                    code = code[:-1] + "D"
                    if len(c.code) != 8 or not self.billable(code):
                        code = ""
                if code:
                    case.problems.append(
                        Problem(code, phrase_of(rng, c, case.split), "external", kind="external")
                    )
        if rng.random() < 0.3 and not case.subsequent:
            c = self._cond(rng.choice(["Y92.009", "Y92.410"]))
            if c is not None and c.phrases[case.split]:
                case.problems.append(
                    Problem(c.code, phrase_of(rng, c, case.split), "place", kind="external")
                )

    def _plan_distractors(self, case: Case, rng: random.Random, used: set[str]) -> None:
        split, lex = case.split, self.lex
        gold_groups = set(used) | {group(p.code) for p in case.problems}

        def ok(c: Condition | None) -> bool:
            return (
                c is not None
                and bool(c.phrases[split])
                and group(c.code) not in gold_groups
                and compatible(c, case.age, case.sex)
            )

        # Symptoms integral to a coded diagnosis are written but not coded (guideline I.B.5).
        for p in case.problems:
            if p.role != "principal" or rng.random() > 0.75:
                continue
            symptoms = list(lex.integral_symptoms(p.code))
            rng.shuffle(symptoms)
            for code in symptoms[: rng.randint(1, 3)]:
                c = lex.conditions.get(code)
                if ok(c) and c is not None:
                    gold_groups.add(group(c.code))
                    case.integral.append(
                        Distractor("integral_symptom", c.code, phrase_of(rng, c, split))
                    )
        # Review-of-systems negatives (most notes with a history section).
        if case.note_type in ("office", "ED", "consult", "discharge", "telehealth") and (
            rng.random() < 0.75
        ):
            for _ in range(rng.randint(2, 6)):
                c = self.pools.draw(rng, split, "_kind:symptom")
                if ok(c) and c is not None:
                    gold_groups.add(group(c.code))
                    case.ros_negatives.append(
                        Distractor("negated", c.code, phrase_of(rng, c, split))
                    )
        plan: list[str] = []
        if rng.random() < 0.45:
            plan.append("negated")
        if case.setting != "inpatient" and rng.random() < 0.35:
            plan.append("uncertain")
        if rng.random() < 0.3:
            plan.append("hypothetical")
        if rng.random() < 0.35:
            plan.append("family_history")
        if case.age >= 30 and rng.random() < 0.25:
            plan.append("history")
        if rng.random() < 0.2:
            plan.append("resolved")
        fam = sorted(lex.family)
        per = sorted(lex.personal)
        for reason in plan:
            c: Condition | None = None
            z: str | None = None
            if reason == "family_history":
                c = lex.conditions[fam[rng.randrange(len(fam))]]
                z = lex.family[c.code]
                c = c if c.phrases[split] and group(c.code) not in gold_groups else None
                if c is not None and z in {p.code for p in case.problems}:
                    c = None
            elif reason == "history":
                c = lex.conditions[per[rng.randrange(len(per))]]
                z = lex.personal[c.code]
                if not ok(c) or z in {p.code for p in case.problems}:
                    c = None
            elif reason == "resolved":
                c = self.pools.draw(rng, split, "_kind:acute")
            elif reason == "negated":
                c = self.pools.draw(rng, split, "_kind:chronic,acute,symptom")
            else:
                c = self.pools.draw(
                    rng, split, case.specialty if rng.random() < 0.6 else "_kind:acute,chronic"
                )
            if c is None or (reason != "family_history" and not ok(c)):
                continue
            gold_groups.add(group(c.code))
            case.distractors.append(Distractor(reason, c.code, phrase_of(rng, c, split), z))

    def _plan_procedures(self, case: Case, rng: random.Random) -> None:
        split, spec = case.split, case.specialty
        nt = case.note_type

        def add_from(kinds: tuple[str, ...], k: int, specific: bool = False) -> None:
            pool = self.pools.procedures(split, spec, kinds, specific or nt == "procedure")
            for _ in range(k):
                if not pool:
                    return
                p = pool[rng.randrange(len(pool))]
                if any(x.code == p.code for x in case.procs):
                    continue
                lo, hi = PROC_AGES.get(p.code, (0, 120))
                if not lo <= case.age <= hi:
                    continue
                pr = self.proc(rng, split, p.system, p.code)
                if pr is not None:
                    case.procs.append(pr)

        if nt == "procedure":
            kinds = ("imaging",) if spec == "radiology" else ("proc", "test")
            add_from(kinds, 1 if rng.random() < 0.7 else 2)
            if not case.procs:
                add_from(("proc", "test", "imaging"), 1)
            if not case.procs:
                spec = case.specialty = "radiology"
                add_from(("imaging",), 1)
        elif nt in ("office", "consult") and rng.random() < 0.4:
            add_from(("test", "lab", "proc", "counsel"), rng.randint(1, 2))
        elif nt == "ED" and rng.random() < 0.55:
            add_from(("proc", "test", "admin"), 1, specific=True)
        elif nt == "preventive":
            kinds = ("lab", "test", "screening", "counsel") if case.age >= 18 else ("test",)
            add_from(kinds, rng.randint(0, 2))
        # Injection/infusion administration comes with the drug supplied (HCPCS J-code).
        admin = any(
            p.code
            in (
                "96372",
                "96374",
                "96365",
                "20610",
                "20611",
                "20605",
                "20600",
                "20550",
                "20552",
                "64483",
                "62323",
            )
            for p in case.procs
        )
        if admin or (nt in ("ED", "office") and rng.random() < 0.12):
            if not admin:
                add_from(("admin",), 1)
            add_from(("drug",), 1)
        vaccinate = nt == "preventive" or (
            nt == "office" and spec in GENERALISTS and rng.random() < 0.08
        )
        if vaccinate and rng.random() < 0.6:
            before = len(case.procs)
            add_from(("vaccine",), rng.randint(1, 2))
            n_vax = len(case.procs) - before
            if n_vax:
                medicare = case.age >= 65 and rng.random() < 0.5
                first = "G0008" if medicare else ("90460" if case.age < 19 else "90471")
                for code in [first] + (["90472"] * (n_vax - 1) if not medicare else []):
                    pr = self.proc(rng, split, "HCPCS" if code.startswith("G") else "CPT", code)
                    if pr is not None and all(x.code != code for x in case.procs):
                        case.procs.append(pr)
                z23 = self._cond("Z23")
                if (
                    z23 is not None
                    and z23.phrases[split]
                    and all(p.code != "Z23" for p in case.problems)
                ):
                    case.problems.append(
                        Problem("Z23", phrase_of(rng, z23, split), "secondary", kind="screening")
                    )
        # Ordered but not performed here: a CPT distractor.
        if nt in ("office", "consult", "telehealth", "ED") and rng.random() < 0.35:
            pool = self.pools.procedures(split, spec, ("imaging", "test", "proc"), specific=True)
            if pool:
                p = pool[rng.randrange(len(pool))]
                pr = self.proc(rng, split, p.system, p.code)
                if pr is not None and all(x.code != pr.code for x in case.procs):
                    case.ordered.append(pr)

    def _plan_em(self, case: Case, rng: random.Random) -> None:
        nt, new = case.note_type, case.new_patient
        level = rng.choices([2, 3, 4, 5], weights=[1, 4, 4, 1.3])[0]
        case.em_level = level
        case.em_basis = "time" if rng.random() < 0.5 else "mdm"
        if nt == "office":
            lo, hi = OFFICE_TIME[("new" if new else "est", level)]
            case.em_minutes = rng.randint(lo, hi)
            code = (
                ("99202", "99203", "99204", "99205")
                if new
                else ("99212", "99213", "99214", "99215")
            )[level - 2]
            case.em = ("CPT", code)
            if level == 5 and case.em_basis == "time" and rng.random() < 0.25:
                case.em_minutes = rng.randint(75 if new else 55, 100 if new else 80)
                case.extra_em.append(("CPT", "99417"))
            if (
                not new
                and rng.random() < 0.35
                and case.specialty
                in (
                    "family medicine",
                    "internal medicine",
                    "cardiology",
                    "endocrinology",
                    "pulmonology",
                    "nephrology",
                    "neurology",
                )
                and any(p.kind == "chronic" for p in case.problems)
            ):
                case.extra_em.append(("HCPCS", "G2211"))
        elif nt == "telehealth":
            case.em_basis = "time"
            case.modality = "video" if rng.random() < 0.7 else "audio"
            lo, hi = TELE_TIME[("new" if new else "est", level)]
            case.em_minutes = rng.randint(lo, hi)
            base = 98000 if case.modality == "video" else 98008
            case.em = ("CPT", str(base + (0 if new else 4) + level - 2))
        elif nt == "consult":
            case.em_basis = "time"
            if case.setting == "inpatient":
                # inpatient consults: 35/45/60/80 minutes met or exceeded
                lo, hi = {2: (35, 44), 3: (45, 59), 4: (60, 79), 5: (80, 110)}[level]
                code = ("99252", "99253", "99254", "99255")[level - 2]
            else:
                lo, hi = CONSULT_TIME[level]
                code = ("99242", "99243", "99244", "99245")[level - 2]
            case.em_minutes = rng.randint(lo, hi)
            case.em = ("CPT", code)
        elif nt == "ED":
            case.em_basis = "mdm"
            lvl = rng.choices([1, 2, 3, 4, 5], weights=[0.5, 1.5, 4, 4, 2])[0]
            case.em_level = lvl
            case.em = ("CPT", f"9928{lvl}")
            if lvl == 5 and rng.random() < 0.25:
                case.em_minutes = rng.randint(32, 70)
                case.extra_em.append(("CPT", "99291"))
        elif nt == "discharge":
            case.em_basis = "time"
            case.em_minutes = rng.choice([rng.randint(15, 30), rng.randint(31, 65)])
            case.em = ("CPT", "99238" if case.em_minutes <= 30 else "99239")
        elif nt == "preventive":
            a = case.age
            idx = (
                0
                if a < 1
                else 1
                if a <= 4
                else 2
                if a <= 11
                else 3
                if a <= 17
                else 4
                if a <= 39
                else 5
                if a <= 64
                else 6
            )
            if a >= 65 and case.specialty != "obstetrics and gynecology" and rng.random() < 0.6:
                case.em = ("HCPCS", "G0438" if new else "G0439")
            else:
                case.em = ("CPT", str((99381 if new else 99391) + idx))
            chronic = [p for p in case.problems if p.kind == "chronic"]
            if chronic and rng.random() < 0.5:
                case.extra_em.append(("CPT", ("99212", "99213", "99214")[rng.randrange(3)]))
        # procedure notes: the procedure carries the E/M (global period); no visit code.
