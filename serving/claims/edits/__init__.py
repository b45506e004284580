"""Claim edits: small rules, each one function, applied before anything is rendered.

Each rule takes an `EditContext` and yields `ClaimEdit`s with a stable `code`, a `severity`
(`error` rejects the claim, `warning` informs), a message naming the offending value, the rule id
and the source of the rule. Table-driven rules read `NcciTables` (PTP pairs, MUEs, global days,
E/M ranges, modifier lists, place-of-service and state codes); code rules read the code catalog.
"""

from __future__ import annotations

from collections.abc import Sequence

from serving.claims.catalog import CodeCatalog
from serving.claims.edits.context import EditContext, Rule
from serving.claims.edits.diagnoses import (
    icd_age,
    icd_excludes1,
    icd_manifestation_first,
    icd_sex,
    icd_valid_billable,
    max_diagnoses,
    required_codes,
)
from serving.claims.edits.parties import claim_total, code_tables, npi_check, printable_text
from serving.claims.edits.services import (
    bypass_modifiers,
    diagnosis_pointers,
    modifier_25,
    ncci_ptp,
    proc_valid,
    units,
)
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimEdit

__all__ = ["RULES", "EditContext", "Rule", "has_errors", "run_edits"]

RULES: tuple[Rule, ...] = (
    required_codes,
    max_diagnoses,
    icd_valid_billable,
    icd_excludes1,
    icd_manifestation_first,
    icd_sex,
    icd_age,
    proc_valid,
    diagnosis_pointers,
    modifier_25,
    ncci_ptp,
    bypass_modifiers,
    units,
    npi_check,
    claim_total,
    code_tables,
    printable_text,
)


def run_edits(
    claim: ClaimCreate,
    catalog: CodeCatalog,
    tables: NcciTables | None = None,
    rules: Sequence[Rule] = RULES,
) -> list[ClaimEdit]:
    """Every edit that fires on an explicit claim (`diagnoses` and `lines` resolved)."""
    ctx = EditContext(
        claim=claim,
        diagnoses=claim.diagnoses or [],
        lines=claim.lines or [],
        catalog=catalog,
        tables=tables or NcciTables.packaged(),
    )
    return [edit for rule in rules for edit in rule(ctx)]


def has_errors(edits: Sequence[ClaimEdit]) -> bool:
    return any(e.severity == "error" for e in edits)
