"""The code catalog as serving sees it: lookup, validation and search over `model.codesets`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from model.codesets import Catalog, CodeEntry, get_catalog
from model.suggestion import SYSTEMS
from serving.errors import InvalidInput

#: Catalog problems that make a code unusable in a final code set. Sex/age edits are claim
#: edits (serving.claims), not review errors.
BLOCKING = frozenset({"unknown_code", "invalid_format", "unknown_system", "not_billable"})
DATE_PROBLEMS = frozenset({"terminated", "not_yet_effective"})


def catalog() -> Catalog:
    return get_catalog()


def check_system(system: str, field: str = "system") -> str:
    if system not in SYSTEMS:
        raise InvalidInput(
            f"unknown code system {system!r}; allowed: {', '.join(SYSTEMS)}",
            code="unknown_system",
            field=field,
        )
    return system


def lookup(system: str, code: str) -> CodeEntry | None:
    """The catalog entry for `(system, code)` (any case, dotted or not), or None."""
    check_system(system)
    return catalog().get(system, code)


def problems(
    system: str, code: str, date_of_service: dt.date | None = None
) -> list[dict[str, Any]]:
    """Why `code` cannot be in a final code set (`[]` if it can): `{"code", "message", ...}`."""
    found = catalog().validate(system, code, date_of_service)
    wanted = BLOCKING | (DATE_PROBLEMS if date_of_service is not None else frozenset())
    return [p.to_dict() for p in found if p.code in wanted]


def search(query: str, system: str | None = None, limit: int = 20) -> list[tuple[CodeEntry, float]]:
    if system is not None:
        check_system(system)
    return [(h.entry, h.score) for h in catalog().search(query, system=system, limit=limit)]
