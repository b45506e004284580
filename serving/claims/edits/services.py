"""Service-line edits: CPT/HCPCS validity, diagnosis pointers, modifiers, NCCI PTP, MUE."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import combinations

from serving.claims.catalog import problem_text
from serving.claims.edits.context import SRC_CPT, SRC_NCCI_MANUAL, SRC_X12, EditContext, _edit
from serving.claims.schemas import ClaimEdit, ServiceLine


def proc_valid(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Each line's code is a CPT/HCPCS code in effect on the line's date of service."""
    rule = "proc_valid"
    for i, ln in enumerate(ctx.lines):
        field = f"lines[{i}].code"
        if ctx.catalog.get(ln.system, ln.code) is None:
            yield _edit(
                "proc.invalid", f"{ln.code} is not a {ln.system} code", rule, SRC_CPT, field=field
            )
            continue
        for problem in ctx.catalog.validate(ln.system, ln.code, ln.date_of_service):
            kind = str(getattr(problem, "code", ""))
            code = "proc.invalid_on_date" if kind in _DATE_PROBLEMS else "proc.invalid"
            yield _edit(code, problem_text(problem), rule, SRC_CPT, field=field)


_DATE_PROBLEMS = frozenset({"terminated", "not_yet_effective"})


def diagnosis_pointers(ctx: EditContext) -> Iterator[ClaimEdit]:
    rule, limit = "diagnosis_pointers", ctx.tables.rules.max_pointers_per_line
    n = len(ctx.diagnoses)
    for i, ln in enumerate(ctx.lines):
        field = f"lines[{i}].diagnosis_pointers"
        ptrs = ln.diagnosis_pointers
        if not ptrs:
            yield _edit(
                "pointer.missing",
                f"line {i + 1} ({ln.code}) points at no diagnosis; 1 to 4 pointers are required",
                rule,
                SRC_X12,
                field=field,
            )
        if len(ptrs) > limit:
            yield _edit(
                "pointer.too_many",
                f"line {i + 1} ({ln.code}) has {len(ptrs)} diagnosis pointers; at most {limit}",
                rule,
                SRC_X12,
                field=field,
            )
        if len(set(ptrs)) != len(ptrs):
            yield _edit(
                "pointer.duplicate",
                f"line {i + 1} ({ln.code}) repeats a diagnosis pointer",
                rule,
                SRC_X12,
                field=field,
            )
        for p in ptrs:
            if not 1 <= p <= min(n, ctx.tables.rules.max_diagnoses):
                yield _edit(
                    "pointer.invalid",
                    f"line {i + 1} ({ln.code}) points at diagnosis {p}; the claim has {n}",
                    rule,
                    SRC_X12,
                    field=field,
                )


def _same_day(lines: Sequence[ServiceLine]) -> dict[dt.date, list[tuple[int, ServiceLine]]]:
    by_day: dict[dt.date, list[tuple[int, ServiceLine]]] = defaultdict(list)
    for i, ln in enumerate(lines):
        by_day[ln.date_of_service].append((i, ln))
    return by_day


def modifier_25(ctx: EditContext) -> Iterator[ClaimEdit]:
    """An E/M billed with a same-day minor procedure or NCCI-bundling procedure needs 25."""
    t = ctx.tables
    for day, lines in _same_day(ctx.lines).items():
        for i, em in lines:
            if not t.rules.is_em(em.code) or t.rules.em_same_day_modifiers & set(em.modifiers):
                continue
            for _, other in lines:
                if other.code == em.code or t.rules.is_em(other.code):
                    continue
                days = t.global_days.get(other.code)
                bundles = any(
                    e.column_2 == em.code and e.modifier_indicator == "1"
                    for e in t.ptp_edits(other.code, em.code, day)
                )
                if days in t.rules.minor_procedure_global_days or bundles:
                    why = (
                        f"a minor procedure (global {days})"
                        if days in t.rules.minor_procedure_global_days
                        else "an NCCI PTP pair"
                    )
                    yield _edit(
                        "mod.25_required",
                        f"E/M {em.code} on {day} is billed with {other.code}"
                        f" ({why}); append modifier 25 if the E/M is significant and "
                        "separately identifiable",
                        "modifier_25",
                        f"{SRC_NCCI_MANUAL}; {t.source_ptp}; {t.source_global_days}",
                        field=f"lines[{i}].modifiers",
                    )
                    break


def ncci_ptp(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Same-day NCCI pairs: indicator 0 never pays both; 1 needs an NCCI-associated modifier."""
    t = ctx.tables
    for day, lines in _same_day(ctx.lines).items():
        for (i, a), (j, b) in combinations(lines, 2):
            for e in t.ptp_edits(a.code, b.code, day):
                col2_index = j if b.code == e.column_2 else i
                if e.modifier_indicator == "9":
                    continue
                if e.modifier_indicator == "1" and t.rules.is_em(e.column_2):
                    continue  # the E/M side is modifier_25's job
                mods = set(a.modifiers) | set(b.modifiers)
                if e.modifier_indicator == "1" and mods & t.rules.ncci_associated_modifiers:
                    continue
                how = (
                    "no modifier can bypass this edit"
                    if e.modifier_indicator == "0"
                    else "append an NCCI-associated modifier (e.g. 59/XS) only if the services "
                    "are distinct"
                )
                yield _edit(
                    "ncci.ptp",
                    f"{e.column_2} is bundled into {e.column_1} on {day} "
                    f"(NCCI PTP, modifier indicator {e.modifier_indicator}); {how}",
                    "ncci_ptp",
                    t.source_ptp,
                    field=f"lines[{col2_index}].code",
                )


def bypass_modifiers(ctx: EditContext) -> Iterator[ClaimEdit]:
    """59/XE/XS/XP/XU only where a same-day NCCI pair with modifier indicator 1 allows it."""
    t = ctx.tables
    by_day = _same_day(ctx.lines)
    for i, ln in enumerate(ctx.lines):
        used = sorted(set(ln.modifiers) & t.rules.bypass_modifiers)
        if not used:
            continue
        allowed = any(
            e.modifier_indicator == "1"
            for j, other in by_day[ln.date_of_service]
            if j != i
            for e in t.ptp_edits(ln.code, other.code, ln.date_of_service)
        )
        if not allowed:
            yield _edit(
                "mod.bypass_not_allowed",
                f"modifier {'/'.join(used)} on {ln.code} bypasses"
                " no NCCI PTP pair (modifier indicator 1) with another same-day line",
                "bypass_modifiers",
                f"{SRC_NCCI_MANUAL}; {t.source_ptp}",
                field=f"lines[{i}].modifiers",
            )


def units(ctx: EditContext) -> Iterator[ClaimEdit]:
    """Units positive and within the MUE (per line for MAI 1, per code and day for MAI 2/3)."""
    t = ctx.tables
    per_day: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
    for i, ln in enumerate(ctx.lines):
        if ln.units <= 0:
            yield _edit(
                "units.not_positive",
                f"line {i + 1} ({ln.code}) has {ln.units} units; units must be positive",
                "units",
                SRC_X12,
                field=f"lines[{i}].units",
            )
            continue
        per_day[(ln.date_of_service, ln.code)] += ln.units
        mue = t.mue.get(ln.code)
        if mue is not None and mue.mai == "1" and ln.units > mue.value:
            yield _edit(
                "units.mue",
                f"line {i + 1} ({ln.code}) has {ln.units} units; the MUE is "
                f"{mue.value} per line (MAI 1)",
                "units",
                t.source_mue,
                field=f"lines[{i}].units",
            )
    for (day, code), total in per_day.items():
        mue = t.mue.get(code)
        if mue is not None and mue.mai in ("2", "3") and total > mue.value:
            yield _edit(
                "units.mue",
                f"{code} has {total} units on {day}; the MUE is {mue.value} "
                f"per day (MAI {mue.mai})",
                "units",
                t.source_mue,
                field="lines",
            )
