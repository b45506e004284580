"""Compose the text of a note from a `Case`, one writer per note type.

Layouts: office (SOAP, problem-oriented or narrative), ED, procedure / imaging report,
discharge summary, telehealth follow-up, preventive visit, and consult (structured or as a
narrative case report). Gold evidence and distractor spans are recorded while writing.
"""

from __future__ import annotations

import random
from typing import Any

from data.synthetic.builder import NoteBuilder, cap
from data.synthetic.filler import HPI_EXTRA, PLAN_EXTRA, PROBLEM_COURSE, sentences
from data.synthetic.plan import MDM_WORDS, Case, Distractor, Problem, Proc
from data.synthetic.sections import (
    STYLES_BY_SPLIT,
    Headers,
    distractor_writer,
    dx_writer,
    join_distractors,
    join_mentions,
    status_plan,
)

SURNAMES = (
    "Smith",
    "Garcia",
    "Nguyen",
    "Johnson",
    "Patel",
    "Kim",
    "Brown",
    "Lopez",
    "Cohen",
    "Okafor",
    "Rossi",
    "Murphy",
    "Schmidt",
    "Haddad",
    "Silva",
    "Novak",
    "Yamamoto",
)
RELATIVES = (
    ("Mother", "her"),
    ("Father", "his"),
    ("Sister", "her"),
    ("Brother", "his"),
    ("Maternal grandmother", "her"),
    ("Paternal grandfather", "his"),
    ("Maternal aunt", "her"),
    ("Paternal uncle", "his"),
)
DURATIONS = (
    "2 days",
    "3 days",
    "1 week",
    "10 days",
    "2 weeks",
    "a month",
    "3 months",
    "6 months",
    "several weeks",
    "about a year",
    "48 hours",
    "5 days",
)
COURSES = (
    "gradually worsening",
    "intermittent",
    "constant",
    "improving slightly",
    "stable",
    "waxing and waning",
    "progressively worse",
    "unchanged",
)
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MDM_REASONS = {
    1: "a self-limited problem",
    2: "one self-limited problem and no tests",
    3: "two stable chronic illnesses and review of external notes",
    4: "a chronic illness with exacerbation and prescription drug management",
    5: "a severe exacerbation and a decision regarding hospitalization",
}
ED_MDM_WORDS = {1: "minimal", 2: "straightforward", 3: "low", 4: "moderate", 5: "high"}


def _context(case: Case, rng: random.Random) -> dict[str, str]:
    f = case.sex == "F"
    if case.age < 1:
        man = "infant girl" if f else "infant boy"
    elif case.age < 13:
        man = "girl" if f else "boy"
    elif case.age < 18:
        man = "adolescent female" if f else "adolescent male"
    else:
        man = "woman" if f else "man"
    rel, pos2 = RELATIVES[rng.randrange(len(RELATIVES))]
    return {
        "pron": "she" if f else "he",
        "pos": "her" if f else "his",
        "pron_lc": "she" if f else "he",
        "man": man,
        "sexabbr": "F" if f else "M",
        "mr": "Patient" if case.age < 18 else "Ms." if f else "Mr.",
        "name": SURNAMES[rng.randrange(len(SURNAMES))],
        "age": str(case.age),
        "dur": DURATIONS[rng.randrange(len(DURATIONS))],
        "course": COURSES[rng.randrange(len(COURSES))],
        "rel": rel,
        "rel_lc": rel.lower(),
        "pos2": pos2,
        "relage": str(rng.randint(45, 80)),
        "decade": str(rng.choice((40, 50, 60, 70))),
        "year": str(rng.randint(2005, 2023)),
        "month": MONTHS[rng.randrange(12)],
    }


ADULT_SOCIAL = (
    "Lives with spouse.",
    "Lives alone.",
    "Works as a teacher.",
    "Retired.",
    "Works in construction.",
    "Lives with family.",
    "Works night shifts as a nurse.",
)
ALCOHOL = (
    "Drinks alcohol socially. ",
    "No alcohol. ",
    "Occasional wine. ",
    "Denies drug use. ",
    "",
)
CHILD_SOCIAL = (
    "Lives with both parents and a younger sibling.",
    "Attends daycare.",
    "In elementary school, doing well.",
    "Lives with mother; no smokers at home.",
    "Up to date on school requirements.",
)


class Writer:
    """Writes one note; methods are the building blocks shared by the layouts."""

    def __init__(
        self, b: NoteBuilder, case: Case, meds_by_code: dict[str, tuple[str, ...]], style: str
    ) -> None:
        self.b, self.case, self.rng = b, case, b.rng
        self.meds_by_code = meds_by_code
        self.h = Headers(style, b.rng)
        self.principal = next((p for p in case.problems if p.role == "principal"), None)
        self.dx = [p for p in case.problems if p.role in ("principal", "secondary")]
        self.causes = [p for p in case.problems if p.role in ("external", "place")]
        self.bmi = next((p for p in case.problems if p.role == "bmi"), None)
        base = {"discharge": 4, "consult": 4, "preventive": 3, "office": 3}.get(case.note_type, 2)
        verbosity = b.rng.choices((0.5, 1.0, 2.0, 3.0), weights=(2, 4, 3, 1))[0]
        self.filler = max(1, round(base * verbosity))
        self.dist = {
            r: [d for d in case.distractors if d.reason == r]
            for r in (
                "negated",
                "uncertain",
                "hypothetical",
                "family_history",
                "history",
                "resolved",
            )
        }

    # -- blocks ------------------------------------------------------------------------------
    def hpi(self) -> None:
        b, rng = self.b, self.rng
        main = self.principal or (self.dx[0] if self.dx else None)
        others = [
            p
            for p in self.dx
            if p is not main and (p.kind in ("chronic", "status") or p.code[0] not in "ZRS")
        ][:3]
        if main is not None:
            if others:
                b.frame("hpi_open", {"cc": dx_writer(main), "pmh": join_mentions(others)})
            else:
                b.frame("hpi_open_simple", {"cc": dx_writer(main)})
        else:
            b.add(f"{b.ctx['age']}-year-old {b.ctx['man']} here for a visit.")
        b.add(" ")
        if self.case.integral:
            b.frame("integral", {"sym": join_distractors(self.case.integral)})
            b.add(" ")
        if main is None or main.kind != "screening":
            b.frame("hpi_detail", {})
        for p in self.causes:
            b.add(" ")
            b.frame("external_cause" if p.role == "external" else "place", {"dx": dx_writer(p)})
        if rng.random() < 0.6 and self.case.age >= 18:
            b.add(" ")
            b.frame("hpi_adherence", {})
        k = rng.randint(0, self.filler)
        if k and self.case.age >= 18:
            b.add(" " + sentences(rng, HPI_EXTRA, k, b.ctx))
        for d in self.dist["negated"]:
            b.add(" ")
            b.frame("negated", {"dx": distractor_writer(d)})
        b.add("\n")

    def pmh(self) -> None:
        b = self.b
        chronic = [
            p for p in self.dx if p.kind in ("chronic", "status") and p is not self.principal
        ]
        items = 0
        bullet = self.rng.choice(("- ", "* ", "", "• "))
        for p in chronic:
            b.add(bullet)
            b.frame("pmh_item", {"dx": dx_writer(p)})
            b.add("\n")
            items += 1
        for d in self.dist["history"]:
            b.add(bullet)
            b.frame(
                "personal_history",
                {"dx": distractor_writer(d)},
                marked=("ICD-10-CM", d.z_code) if d.z_code else None,
            )
            b.add("\n")
            items += 1
        for d in self.dist["resolved"]:
            b.add(bullet)
            b.frame("resolved", {"dx": distractor_writer(d)})
            b.add("\n")
            items += 1
        if not items:
            b.add(
                self.rng.choice(
                    (
                        "None.",
                        "Noncontributory.",
                        "No chronic medical problems.",
                        "Denies significant past medical history.",
                    )
                )
                + "\n"
            )

    def family(self) -> None:
        b = self.b
        for d in self.dist["family_history"]:
            sex = b.lex.conditions[d.code].sex
            rels = [r for r in RELATIVES if sex is None or (r[1] == "her") == (sex == "F")]
            rel, pos2 = rels[self.rng.randrange(len(rels))]
            b.ctx.update(rel=rel, rel_lc=rel.lower(), pos2=pos2)
            b.frame(
                "family",
                {"dx": distractor_writer(d)},
                marked=("ICD-10-CM", d.z_code) if d.z_code else None,
            )
            b.add(". ")
        b.add(
            self.rng.choice(
                (
                    "Otherwise noncontributory.",
                    "No other significant family history.",
                    "Remainder unknown.",
                    "Otherwise negative.",
                )
            )
            + "\n"
        )

    def social(self) -> None:
        b, rng = self.b, self.rng
        if self.case.age < 18:
            b.add(rng.choice(CHILD_SOCIAL) + "\n")
            return
        smoke = next((p for p in self.dx if p.code in ("F17.210", "Z87.891", "Z72.0")), None)
        if smoke is not None:
            b.add("Tobacco: ")
            dx_writer(smoke)(b, False)
            b.add(". ")
        else:
            b.add(rng.choice(("Never smoker. ", "Nonsmoker. ", "No tobacco use. ", "")))
        b.add(rng.choice(ALCOHOL))
        b.add(rng.choice(ADULT_SOCIAL) + "\n")

    def ap(self, numbered_start: int = 1, narrative: bool = False) -> None:
        b, rng = self.b, self.rng
        n = numbered_start
        for p in self.dx:
            if p.kind == "status" and p.role != "principal":
                continue  # status codes (Z79, Z87...) are documented in the history sections
            vals: dict[str, Any] = status_plan(b, screening=p.kind == "screening")
            if self.case.subsequent and p.role == "principal":
                vals["status"] = rng.choice(
                    ("healing as expected", "routine healing on today's check", "healing well")
                )
            vals.update(dx=dx_writer(p), n=str(n))
            b.frame("ap_narrative" if narrative else "ap_item", vals)
            if self.case.note_type in ("discharge", "consult") and rng.random() < 0.7:
                b.add(
                    " "
                    + sentences(rng, PROBLEM_COURSE, rng.randint(1, 1 + self.filler // 2), b.ctx)
                )
            if p.code.startswith("E66") and self.bmi is not None and rng.random() < 0.7:
                b.add(" ")
                b.mention(self.bmi.phrase, "ICD-10-CM", self.bmi.code)
                b.add(".")
            b.add("\n" if not narrative else " ")
            n += 1
        for d in self.dist["uncertain"]:
            b.frame("uncertain", {"dx": distractor_writer(d)})
            b.add("\n" if not narrative else " ")
        for d in self.dist["hypothetical"]:
            b.frame("hypothetical", {"dx": distractor_writer(d)})
            b.add("\n" if not narrative else " ")
        k = rng.randint(0, self.filler)
        if k:
            b.add(sentences(rng, PLAN_EXTRA, k, b.ctx) + ("\n" if not narrative else " "))
        if narrative:
            b.add("\n")

    def procedures(self, procs: list[Proc]) -> None:
        b = self.b
        for p in procs:
            slot = "drug_given" if p.kind in ("drug", "vaccine", "supply") else "proc_done"

            def write(bb: NoteBuilder, upper: bool, p: Proc = p) -> None:
                bb.mention(p.phrase, p.system, p.code, capitalize=upper)

            b.frame(slot, {"px": write})
            b.add("\n")

    def ordered(self) -> None:
        b = self.b
        for p in self.case.ordered:

            def write(bb: NoteBuilder, upper: bool, p: Proc = p) -> None:
                bb.distractor(p.phrase, p.system, p.code, "ordered_not_performed", upper)

            b.frame("proc_ordered", {"px": write})
            b.add("\n")

    def em_statement(self) -> None:
        case, b = self.case, self.b
        if case.em is None:
            return
        system, code = case.em
        if case.note_type in ("office", "telehealth", "preventive", "consult") and (
            case.note_type != "consult"
        ):
            start = b.pos
            b.frame("visit_status_new" if case.new_patient else "visit_status_est", {})
            b.code_span(system, code, start, b.pos)
            b.add(" ")
        start = b.pos
        if case.note_type == "discharge":
            # "More than {t0} minutes ...; total {t} minutes": t0 is the 99239 threshold (30)
            # when t passes it, else a round number below t (never a statement the total
            # contradicts, as "more than 30 minutes ...; total 20 minutes" was)
            t = case.em_minutes
            t0 = 30 if t > 30 else 5 * ((t - 1) // 5)
            b.frame("discharge_time", {"t": str(t), "t0": str(t0)})
        elif case.note_type == "ED":
            lvl = case.em_level
            b.frame("em_mdm", {"mdm": ED_MDM_WORDS[lvl], "mdm_reason": MDM_REASONS[lvl]})
        elif case.note_type == "preventive":
            b.add(
                self.rng.choice(
                    (
                        "Age-appropriate preventive visit with counseling and guidance.",
                        "Comprehensive preventive medicine evaluation completed.",
                        "Routine preventive exam performed; screening and counseling as above.",
                    )
                )
                if system == "CPT"
                else ""
            )
            if system == "HCPCS":
                ps = self.b.lex.procedures[(system, code)].phrases[case.split]
                b.mention(
                    cap(ps[self.rng.randrange(len(ps))]) if ps else "Annual wellness visit",
                    system,
                    code,
                )
                b.add(
                    " completed; health risk assessment and personalized prevention plan reviewed."
                )
        elif case.em_basis == "time":
            b.frame("em_time", {"t": str(case.em_minutes)})
        else:
            lvl = case.em_level
            b.frame("em_mdm", {"mdm": MDM_WORDS[lvl], "mdm_reason": MDM_REASONS[lvl]})
        b.code_span(system, code, start, b.pos)
        for sys2, code2 in case.extra_em:
            if code2 == "99417":
                b.code_span(sys2, code2, start, b.pos)
            elif code2 == "99291":
                b.add(" ")
                s2 = b.pos
                b.frame("critical_time", {"t": str(case.em_minutes)})
                b.code_span(sys2, code2, s2, b.pos)
            elif code2 == "G2211":
                ps = b.lex.procedures[(sys2, code2)].phrases[case.split]
                if ps:
                    b.add(" ")
                    b.mention(cap(ps[self.rng.randrange(len(ps))]), sys2, code2)
                    b.add(".")
            else:  # separately identifiable problem visit with a preventive visit
                b.add(" ")
                s2 = b.pos
                lvl = int(code2[-1])
                b.add(
                    f"Separately identifiable problem-oriented visit (modifier 25) for the "
                    f"chronic conditions above; MDM {MDM_WORDS[lvl]}."
                )
                b.code_span(sys2, code2, s2, b.pos)
        b.add("\n")


def pick_style(rng: random.Random, split: str) -> str:
    styles = STYLES_BY_SPLIT[split]
    return styles[rng.randrange(len(styles))]


def make_builder(lex: Any, rng: random.Random, case: Case) -> NoteBuilder:
    b = NoteBuilder(lex, rng, case.split)
    b.ctx = _context(case, rng)
    return b


__all__ = ["Writer", "pick_style", "make_builder", "Distractor", "Problem"]
