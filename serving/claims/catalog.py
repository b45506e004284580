"""The slice of the code catalog the claim edits read (implemented by `model.codesets`).

Kept as a protocol so the edit rules depend on behaviour, not on the catalog's storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

ICD10CM = "ICD-10-CM"


class CodeEntry(Protocol):
    @property
    def billable(self) -> bool: ...

    @property
    def sex(self) -> str | None: ...

    @property
    def age_min(self) -> int | None: ...

    @property
    def age_max(self) -> int | None: ...

    @property
    def is_manifestation(self) -> bool: ...


class CodeCatalog(Protocol):
    def get(self, system: str, code: str) -> CodeEntry | None: ...

    def validate(
        self, system: str, code: str, date_of_service: dt.date | None = None
    ) -> Sequence[object]: ...

    def excludes1_conflict(self, a: str, b: str) -> bool: ...


def default_catalog() -> CodeCatalog:
    """The packaged code catalog (loaded once by `model.codesets`)."""
    from model.codesets import get_catalog

    catalog: CodeCatalog = get_catalog()
    return catalog


def icd_plain(code: str) -> str:
    """ICD-10-CM without the dot and upper-cased (claim formats carry no decimal point)."""
    return code.replace(".", "").strip().upper()


def icd_dotted(code: str) -> str:
    """ICD-10-CM with the dot after the third character, as FHIR and the tabular show it."""
    plain = icd_plain(code)
    return plain if len(plain) <= 3 else f"{plain[:3]}.{plain[3:]}"


def problem_text(problem: object) -> str:
    """A catalog problem as text (objects with `.message`, or anything printable)."""
    message = getattr(problem, "message", None)
    return str(message) if message is not None else str(problem)
