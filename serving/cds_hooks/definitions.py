"""The CDS Services chartcoder offers, as data (`data/services.json`), validated on load.

Each service names its hook, title, description, prefetch templates, the code systems it
suggests, how many codes a card may carry (`top_k`) and where its text comes from:
`notes` (DocumentReference prefetch key `notes`) or `draftOrders` (the order-sign context).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from model.suggestion import SYSTEMS

#: Hooks this package implements, with the context fields each one requires (CDS Hooks 2.0
#: hook definitions: patient-view 2.0, encounter-discharge 1.0, order-sign 2.0).
HOOK_CONTEXT: dict[str, tuple[str, ...]] = {
    "patient-view": ("userId", "patientId"),
    "encounter-discharge": ("userId", "patientId", "encounterId"),
    "order-sign": ("userId", "patientId", "draftOrders"),
}
TEXT_SOURCES: tuple[str, ...] = ("notes", "draftOrders")


class ServiceDefinitionError(ValueError):
    """`services.json` is invalid; `field` names the bad entry."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"services.json {field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class CdsServiceDef:
    id: str
    hook: str
    title: str
    description: str
    prefetch: dict[str, str]
    systems: tuple[str, ...]
    top_k: int
    text_source: str

    def discovery(self) -> dict[str, Any]:
        """The service as listed by `GET /cds-services`."""
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": dict(self.prefetch),
        }


def _str(entry: dict[str, Any], key: str, at: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ServiceDefinitionError("must be a non-empty string", field=f"{at}.{key}")
    return value


def parse_definitions(raw: Any) -> dict[str, CdsServiceDef]:
    if not isinstance(raw, dict) or not isinstance(raw.get("services"), list):
        raise ServiceDefinitionError("must be an object with a 'services' array", field="<root>")
    out: dict[str, CdsServiceDef] = {}
    for i, entry in enumerate(raw["services"]):
        at = f"services[{i}]"
        if not isinstance(entry, dict):
            raise ServiceDefinitionError("must be an object", field=at)
        sid = _str(entry, "id", at)
        if sid in out or not all(c.isalnum() or c in "-_." for c in sid):
            raise ServiceDefinitionError(f"duplicate or unsafe id {sid!r}", field=f"{at}.id")
        hook = _str(entry, "hook", at)
        if hook not in HOOK_CONTEXT:
            raise ServiceDefinitionError(
                f"{hook!r} is not one of {', '.join(HOOK_CONTEXT)}", field=f"{at}.hook"
            )
        systems = entry.get("systems")
        if not isinstance(systems, list) or not systems or set(systems) - set(SYSTEMS):
            raise ServiceDefinitionError(
                f"must list code systems from {', '.join(SYSTEMS)}; got {systems!r}",
                field=f"{at}.systems",
            )
        top_k = entry.get("top_k")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 50:
            raise ServiceDefinitionError(
                f"must be an integer 1-50; got {top_k!r}", field=f"{at}.top_k"
            )
        source = _str(entry, "text_source", at)
        if source not in TEXT_SOURCES:
            raise ServiceDefinitionError(
                f"must be one of {', '.join(TEXT_SOURCES)}; got {source!r}",
                field=f"{at}.text_source",
            )
        prefetch = entry.get("prefetch", {})
        if not isinstance(prefetch, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in prefetch.items()
        ):
            raise ServiceDefinitionError(
                "must map keys to FHIR query strings", field=f"{at}.prefetch"
            )
        if source == "notes" and "notes" not in prefetch:
            raise ServiceDefinitionError(
                "a notes-reading service needs a 'notes' template", field=f"{at}.prefetch"
            )
        out[sid] = CdsServiceDef(
            id=sid,
            hook=hook,
            title=_str(entry, "title", at),
            description=_str(entry, "description", at),
            prefetch=dict(prefetch),
            systems=tuple(systems),
            top_k=top_k,
            text_source=source,
        )
    return out


@lru_cache(maxsize=1)
def service_definitions() -> dict[str, CdsServiceDef]:
    """The packaged services, by id (loaded once)."""
    text = (
        resources.files("serving.cds_hooks")
        .joinpath("data", "services.json")
        .read_text(encoding="utf-8")
    )
    return parse_definitions(json.loads(text))
