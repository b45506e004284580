"""The code catalog as serving sees it: lookup and search over `model.codesets`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from model.suggestion import SYSTEMS
from serving.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CodeInfo:
    system: str
    code: str
    description: str
    billable: bool | None
    official: bool


@lru_cache(maxsize=1)
def _catalog() -> Any:
    from model.codesets import get_catalog

    return get_catalog()


def check_system(system: str, field: str = "system") -> str:
    if system not in SYSTEMS:
        raise InvalidInput(
            f"unknown code system {system!r}; allowed: {', '.join(SYSTEMS)}",
            code="unknown_system",
            field=field,
        )
    return system


def _info(entry: Any, system: str) -> CodeInfo:
    official = bool(getattr(entry, "official", system != "CPT"))
    billable = getattr(entry, "billable", None)
    return CodeInfo(
        system=system,
        code=str(entry.code),
        description=str(getattr(entry, "description", "") or ""),
        billable=None if billable is None else bool(billable),
        official=official,
    )


def lookup(system: str, code: str) -> CodeInfo | None:
    """The catalog entry for `(system, code)`, or None if the catalog does not know it."""
    check_system(system)
    entry = _catalog().lookup(system, code)
    return None if entry is None else _info(entry, system)


def search(query: str, system: str | None = None, limit: int = 20) -> list[CodeInfo]:
    if system is not None:
        check_system(system)
    hits = _catalog().search(query, system=system, limit=limit)
    return [_info(h, getattr(h, "system", system or "")) for h in hits]
