"""Evaluation and management (E/M) level from documented total time or medical decision making.

The thresholds live in `data/em_rules.json`. The result is a candidate code with the evidence
span that supports it; the ranker decides how much to trust it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_TIME_RE = re.compile(
    r"(?:total\s+(?:face[- ]to[- ]face\s+)?time|time\s+spent|spent\s+(?:a\s+total\s+of\s+)?)"
    r"[^.\n\d]{0,40}?(\d{1,3})\s*(?:min|minutes|mins)\b",
    re.IGNORECASE,
)
_MDM_RE = re.compile(
    r"\b(straightforward|low|moderate|high)(?:\s+(?:complexity|level|risk))?\s*"
    r"(?:medical\s+decision[- ]making|MDM)\b|\b(?:MDM|medical\s+decision[- ]making)\s*[:\-]?\s*"
    r"(straightforward|low|moderate|high)\b",
    re.IGNORECASE,
)
_NEW_RE = re.compile(r"\bnew\s+patient\b|\bestablish(?:ing)?\s+care\b|\bfirst\s+visit\b", re.I)
_EST_RE = re.compile(
    r"\bestablished\s+patient\b|\bfollow[- ]?up\b|\breturn(?:s|ing)?\s+visit\b", re.I
)


@dataclass(frozen=True, slots=True)
class EMCandidate:
    code: str
    start: int
    end: int
    basis: str  # "time" or "mdm"


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("model.v1").joinpath("data/em_rules.json").read_text(encoding="utf-8")
    rules: dict[str, Any] = json.loads(raw)
    for key in ("office_new", "office_established", "mdm_levels", "ed_by_level"):
        if key not in rules:
            raise ValueError(f"em_rules.json lacks {key!r}")
    return rules


def em_candidate(text: str, setting: str | None) -> EMCandidate | None:
    """The E/M code the documentation supports, or None when nothing is documented."""
    rules = _rules()
    is_ed = setting == "ED"
    if setting == "inpatient":
        return None
    new = bool(_NEW_RE.search(text)) and not _EST_RE.search(text[:300])
    m = _MDM_RE.search(text)
    if m is not None:
        level = rules["mdm_levels"][(m.group(1) or m.group(2)).lower()]
        table = (
            rules["ed_by_level"]
            if is_ed
            else rules["office_new_by_level" if new else "office_established_by_level"]
        )
        code = table.get(str(level))
        if code:
            return EMCandidate(code, m.start(), m.end(), "mdm")
    t = _TIME_RE.search(text)
    if t is not None and not is_ed:
        minutes = int(t.group(1))
        chosen = None
        for threshold, code in rules["office_new" if new else "office_established"]:
            if minutes >= threshold:
                chosen = code
        if chosen:
            return EMCandidate(chosen, t.start(), t.end(), "time")
    return None
