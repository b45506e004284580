"""Evaluation and management (E/M) level from documented total time or medical decision making.

The note's documentation implies a level; each E/M family (office new/established, ED, consults,
hospital, telehealth) maps that level, by its own time thresholds in `data/em_rules.json`, to one
code. The ranker gets, for every E/M candidate, whether its level matches what is documented;
the text classifier decides the family.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_TIME_RE = re.compile(
    r"\b(?:total\s+(?:\w+\s+){0,2}time|time[- ]based\s+visit|time\s+spent|spent)"
    r"[^.\n\d]{0,40}?(\d{1,3})\s*(?:min|minutes|mins)\b",
    re.IGNORECASE,
)
_MDM_RE = re.compile(
    r"\b(straightforward|low|moderate|high)(?:\s+(?:complexity|level|risk))?\s*"
    r"(?:medical\s+decision[- ]making|MDM)\b|\b(?:MDM|medical\s+decision[- ]making)"
    r"(?:\s+(?:of|was|is))?\s*[:\-]?\s*(straightforward|low|moderate|high)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class EMDocumentation:
    minutes: int | None
    mdm: str | None
    start: int
    end: int


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("model.v1").joinpath("data/em_rules.json").read_text(encoding="utf-8")
    rules: dict[str, Any] = json.loads(raw)
    for key in ("families", "mdm_levels", "mdm_levels_hospital"):
        if key not in rules:
            raise ValueError(f"em_rules.json lacks {key!r}")
    code_family: dict[str, tuple[str, int]] = {}
    for family, spec in rules["families"].items():
        for code, level in spec["codes"].items():
            code_family[code] = (family, int(level))
    rules["_code_family"] = code_family
    return rules


def em_codes() -> frozenset[str]:
    return frozenset(_rules()["_code_family"])


def documentation(text: str) -> EMDocumentation | None:
    """Documented total minutes and/or MDM level, with the span that states them."""
    t = _TIME_RE.search(text)
    m = _MDM_RE.search(text)
    if t is None and m is None:
        return None
    mdm = (m.group(1) or m.group(2)).lower() if m else None
    first = min((x for x in (t, m) if x is not None), key=lambda x: x.start())
    return EMDocumentation(int(t.group(1)) if t else None, mdm, first.start(), first.end())


def implied_level(family: str, doc: EMDocumentation) -> int | None:
    rules = _rules()
    spec = rules["families"][family]
    hospital = family.startswith("hospital")
    if doc.mdm is not None:
        return int(rules["mdm_levels_hospital" if hospital else "mdm_levels"][doc.mdm])
    if doc.minutes is not None and spec["minutes"]:
        chosen = None
        for level, minimum in sorted(spec["minutes"].items(), key=lambda kv: kv[1]):
            if doc.minutes >= minimum:
                chosen = int(level)
        return chosen
    return None


def level_match(code: str, doc: EMDocumentation | None) -> float:
    """+1 when an E/M code's level is the documented one, -1 when another, 0 when unknown."""
    entry = _rules()["_code_family"].get(code)
    if entry is None or doc is None:
        return 0.0
    implied = implied_level(entry[0], doc)
    if implied is None:
        return 0.0
    return 1.0 if implied == entry[1] else -1.0


def implied_codes(doc: EMDocumentation | None) -> list[str]:
    """The code of the documented level in every family (candidates for the ranker)."""
    if doc is None:
        return []
    out = []
    for family, spec in _rules()["families"].items():
        level = implied_level(family, doc)
        for code, lv in spec["codes"].items():
            if level is not None and int(lv) == level:
                out.append(code)
    return out
