"""What every claim edit rule sees, and the helper that builds an edit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from serving.claims.catalog import ICD10CM, CodeCatalog, CodeEntry, icd_dotted
from serving.claims.ncci import NcciTables
from serving.claims.schemas import ClaimCreate, ClaimEdit, Diagnosis, ServiceLine, Severity

SRC_ICD = "ICD-10-CM code set and Official Guidelines (model.codesets catalog)"
SRC_CPT = "CPT/HCPCS code set (model.codesets catalog)"
SRC_X12 = "ASC X12 005010X222A1 837P implementation guide"
SRC_NPI = "45 CFR 162.406 NPI check digit (Luhn, prefix 80840)"
SRC_NCCI_MANUAL = "CMS NCCI Policy Manual (modifiers 25, 59, X{EPSU})"
SRC_POS = "CMS Place of Service code set"
MAX_LINES = 50  # 837P loop 2400 repeat


@dataclass(frozen=True, slots=True)
class EditContext:
    claim: ClaimCreate
    diagnoses: Sequence[Diagnosis]
    lines: Sequence[ServiceLine]
    catalog: CodeCatalog
    tables: NcciTables

    @property
    def first_date(self) -> dt.date | None:
        return min((ln.date_of_service for ln in self.lines), default=self.claim.date_of_service)

    def icd(self, code: str) -> CodeEntry | None:
        return self.catalog.get(ICD10CM, icd_dotted(code))


Rule = Callable[[EditContext], Iterator[ClaimEdit]]


def _edit(
    code: str,
    message: str,
    rule: str,
    source: str,
    *,
    field: str | None = None,
    severity: Severity = "error",
) -> ClaimEdit:
    return ClaimEdit(
        code=code, severity=severity, message=message, rule=rule, source=source, field=field
    )
