"""Evaluation and management (E/M) code from the visit's kind and its documented level.

Two questions decide an E/M code, and the note answers both in its own words:

- **Which family** (office new/established, ED, consult, hospital, discharge day, critical care,
  telehealth, preventive): `visit_families` reads the wording that names the visit (cue patterns
  kept as data in `data/em_rules.json`) together with the encounter setting.
- **Which level**: documented total time (each family's own minute thresholds), the medical
  decision making level, or, for preventive visits, the patient's age band.

The ranker gets, for every E/M candidate, whether its family is the documented one and whether
its level is; the classifier and the ranker still decide, so a note whose wording the cues miss
can still be coded from what training taught.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

_MIN = r"(?:min|mins|minutes)\b"
#: "Total time 45 minutes", "time spent: 30 min", "I spent 40 minutes", "Time-based visit: 33 min".
_TIME_BEFORE = re.compile(
    r"\b(?:total\s+(?:\w+\s+){0,2}time|time[- ]based\s+visit|time\s+spent|spent|discharge\s+day"
    r"\s+management|time|total)[^.\n\d]{0,40}?(\d{1,3})\s*" + _MIN,
    re.IGNORECASE,
)
#: "43 minutes were spent on this encounter", "45 minutes in total", "50 minutes total".
_TIME_AFTER = re.compile(
    r"\b(\d{1,3})\s*" + _MIN + r"(?:\s+(?:were|was))?\s+(?:spent|in\s+total|total|of\s+total)",
    re.IGNORECASE,
)
_CRITICAL = re.compile(
    r"\b(\d{1,3})\s*" + _MIN + r"\s+(?:of\s+)?critical\s+care|\bcritical\s+care\b"
    r"[^.\n\d]{0,40}?(\d{1,3})\s*" + _MIN,
    re.IGNORECASE,
)
_MDM_RE = re.compile(
    r"\b(straightforward|low|moderate|high)(?:\s+(?:complexity|level|risk))?\s*"
    r"(?:medical\s+decision[- ]making|MDM)\b"
    r"|\b(?:MDM|medical\s+decision[- ]making|decision\s+making)"
    r"(?:\s+(?:of|was|is|level))?\s*[:\-]?\s*(straightforward|low|moderate|high)\b",
    re.IGNORECASE,
)
_AGE_RE = re.compile(
    r"\b(\d{1,3})[- ](?:year|yr)s?[- ]old\b|\b(\d{1,3})\s?(?:y/?o|yo)\b|\bage[d:]?\s+(\d{1,3})\b"
    r"|\b(\d{1,2})[- ](?:month|week|day)s?[- ]old\b",
    re.IGNORECASE,
)
SETTINGS_INPATIENT = frozenset({"inpatient"})


@dataclass(frozen=True, slots=True)
class EMDocumentation:
    """What a note documents for E/M coding.

    `start`/`end` span the statement of time or MDM (or, with neither, the visit-kind cue);
    `cue_start`/`cue_end` span the wording that named the visit kind (-1 when none);
    `preventive_start`/`preventive_end` the wording of a preventive visit when the note documents
    one beside a status cue ("Established patient. ... Routine preventive exam performed.").
    """

    minutes: int | None
    mdm: str | None
    start: int
    end: int
    families: frozenset[str] = frozenset()
    cue_start: int = -1
    cue_end: int = -1
    age: int | None = None
    critical_minutes: int | None = None
    preventive_start: int = -1
    preventive_end: int = -1


@lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    raw = resources.files("model.v1").joinpath("data/em_rules.json").read_text(encoding="utf-8")
    rules: dict[str, Any] = json.loads(raw)
    for key in ("families", "mdm_levels", "mdm_levels_hospital", "age_bands", "cues"):
        if key not in rules:
            raise ValueError(f"em_rules.json lacks {key!r}")
    code_family: dict[str, tuple[str, int]] = {}
    for family, spec in rules["families"].items():
        for code, level in spec["codes"].items():
            code_family[code] = (family, int(level))
    rules["_code_family"] = code_family
    compiled: dict[str, re.Pattern[str]] = {}
    for name in _CUE_NAMES:
        patterns = rules["cues"].get(name)
        if not patterns:
            raise ValueError(f"em_rules.json cues lack {name!r}; needed: {', '.join(_CUE_NAMES)}")
        try:
            compiled[name] = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        except re.error as exc:
            raise ValueError(f"em_rules.json cues.{name}: bad pattern ({exc})") from exc
    rules["_cues"] = compiled
    return rules


_CUE_NAMES: tuple[str, ...] = (
    "new",
    "established",
    "new_explicit",
    "established_explicit",
    "ed",
    "consult",
    "discharge",
    "admission",
    "hospital_progress",
    "video",
    "telehealth",
    "audio",
    "preventive",
    "awv",
    "problem_visit",
    "critical_care",
)


def em_codes() -> frozenset[str]:
    return frozenset(_rules()["_code_family"])


def preventive_codes() -> frozenset[str]:
    """The preventive medicine visit codes (99381-99397)."""
    return frozenset(
        code
        for code, entry in _rules()["_code_family"].items()
        if entry[0].startswith("preventive")
    )


_MORE_THAN = re.compile(
    r"(?:more\s+than|greater\s+than|over|in\s+excess\s+of|exceeding|>)\s*$", re.IGNORECASE
)
_LESS_THAN = re.compile(r"(?:less\s+than|under|fewer\s+than|<)\s*$", re.IGNORECASE)
_NOT_MORE = re.compile(
    r"\b(?:no|not)\s+(?:more\s+than|greater\s+than|over|in\s+excess\s+of|exceeding)\s*$"
    r"|\b(?:at\s+most|up\s+to|did\s+not\s+exceed)\s*$|(?:≤|<=)\s*$",
    re.IGNORECASE,
)
_OR_LESS = re.compile(r"\s*(?:min(?:ute)?s?\.?)?\s*or\s+(?:less|fewer|under)\b", re.IGNORECASE)


def _qualifier(text: str, m: re.Match[str]) -> str:
    """How a time statement's number is meant: "at_most" ("no more than 30", "not over 30",
    "30 minutes or less"), "more" ("more than 30"), "less" ("less than 30") or "exact"."""
    before = text[max(0, m.start(1) - 30) : m.start(1)]
    after = text[m.end(1) : m.end(1) + 25]
    if _NOT_MORE.search(before) or _OR_LESS.match(after):
        return "at_most"
    if _MORE_THAN.search(before):
        return "more"
    if _LESS_THAN.search(before):
        return "less"
    return "exact"


def _minutes(text: str, m: re.Match[str]) -> int:
    """The documented minutes; "more than 30 minutes" is at least 31 (the discharge-day and
    time-threshold idiom), "less than 30 minutes" at most 29; "no more than 30 minutes", "not
    over 30", "30 minutes or less" are 30."""
    n = int(m.group(1))
    q = _qualifier(text, m)
    if q == "more":
        return n + 1
    if q == "less":
        return max(0, n - 1)
    return n


def _time_statement(text: str, skip: re.Match[str] | None = None) -> re.Match[str] | None:
    """The note's documented-time statement: the first exact one ("total 20 minutes") over a
    threshold one ("more than 15 minutes spent on discharge planning; total 20 minutes"), else
    the first of any kind. A statement whose number lies inside `skip` (the critical-care time
    statement) is not a visit time."""
    hits = sorted(
        (
            m
            for m in (*_TIME_BEFORE.finditer(text), *_TIME_AFTER.finditer(text))
            if skip is None or not (skip.start() <= m.start(1) < skip.end())
        ),
        key=lambda m: m.start(1),
    )
    for m in hits:
        if _qualifier(text, m) == "exact":
            return m
    return hits[0] if hits else None


def age_in_text(text: str) -> int | None:
    """The patient's age stated in the text ("a 52-year-old man"; months/weeks/days old: 0)."""
    m = _AGE_RE.search(text)
    if m is None:
        return None
    if m.group(4) is not None:  # months / weeks / days old
        return 0
    return int(next(g for g in m.groups() if g is not None))


def note_kind(note_type: str | None) -> str | None:
    """The visit kind a note's document type names ("Consult note" -> "consult", "Discharge
    summary" -> "discharge"), or None."""
    if not note_type:
        return None
    low = note_type.lower()
    if "consult" in low:
        return "consult"
    if "discharge" in low:
        return "discharge"
    return None


#: Families whose codes differ by the patient's status (new or established).
STATUS_FAMILIES = ("office_", "tele_", "preventive_")


def visit_families(
    cues: dict[str, re.Match[str]],
    setting: str | None,
    *,
    has_level: bool,
    kind: str | None = None,
) -> tuple[set[str], re.Match[str] | None]:
    """The E/M families a note documents, and the cue that named the visit kind.

    Order of precedence (first that applies): an ED setting; telehealth (audio-only or video,
    whichever the note names first; "telehealth" alone is audio-video); discharge day; consult
    (inpatient or outpatient by setting); ED wording (only when the setting is unknown:
    outpatient notes mention past ED visits); inpatient admission or subsequent day; then
    office. A preventive visit adds its family (unless it is a Medicare annual wellness visit,
    coded with HCPCS) and keeps an office family only for a separately identifiable problem
    visit. Critical care is added when its time is documented.

    `kind` is the visit kind the note's document type names (`note_kind`): a consult or
    discharge note whose text never says so ("Time-based visit: 48 minutes" in a consult note)
    takes that family, after any kind the text names.
    """
    new_m, est_m = cues.get("new"), cues.get("established")
    if ("new_explicit" in cues) != ("established_explicit" in cues):
        is_new = "new_explicit" in cues  # "new patient" / "established patient" said outright
    else:
        is_new = new_m is not None and (est_m is None or new_m.start() < est_m.start())
    status = "new" if is_new else "est"
    status_cue = new_m if is_new else est_m
    fams: set[str] = set()
    kind_cue: re.Match[str] | None = None
    inpatient = setting in SETTINGS_INPATIENT
    if setting == "ED":
        return {"ed"}, cues.get("ed")
    if "preventive" in cues and "awv" not in cues:
        fams.add(f"preventive_{status}")
        kind_cue = cues["preventive"]
        if "problem_visit" not in cues:
            return fams, status_cue or kind_cue
    elif "awv" in cues and "problem_visit" not in cues:
        return fams, status_cue
    # "Telehealth" names no modality: audio-only when the note says so and names no video,
    # audio-video otherwise (where it names both, whichever comes first).
    audio, video = cues.get("audio"), cues.get("video")
    if audio is not None and (video is None or audio.start() < video.start()):
        fams.add(f"tele_audio_{status}")
        kind_cue = audio
    elif video is not None or "telehealth" in cues:
        fams.add(f"tele_av_{status}")
        kind_cue = video or cues["telehealth"]
    elif "discharge" in cues and setting != "ED":
        fams.add("discharge")
        kind_cue = cues["discharge"]
    elif "consult" in cues:
        fams.add("consult_in" if inpatient else "consult_out")
        kind_cue = cues["consult"]
    elif kind == "discharge" and setting != "ED":
        fams.add("discharge")
    elif kind == "consult":
        fams.add("consult_in" if inpatient else "consult_out")
    elif "ed" in cues and setting is None:
        fams.add("ed")
        kind_cue = cues.get("ed")
    elif inpatient:
        if "admission" in cues:
            fams.add("hospital_initial")
            kind_cue = cues["admission"]
        else:
            fams.add("hospital_subseq")
            kind_cue = cues.get("hospital_progress")
    elif has_level or status_cue is not None:
        fams.add(f"office_{status}")
    if not any(f.startswith(STATUS_FAMILIES) for f in fams):
        # Discharge day, consults, ED and hospital visits have no new/established codes: the
        # patient's status says nothing about them, so only the visit kind's wording is cited.
        return fams, kind_cue
    return fams, status_cue or kind_cue


def documentation(
    text: str,
    *,
    setting: str | None = None,
    age: int | None = None,
    note_type: str | None = None,
) -> EMDocumentation | None:
    """Documented time / MDM, the visit families and the spans that state them (None: nothing).
    `note_type` is the document type from the note's metadata ("consult", "Discharge summary")."""
    rules = _rules()
    m = _MDM_RE.search(text)
    cues = {name: hit for name, pat in rules["_cues"].items() if (hit := pat.search(text))}
    crit = _CRITICAL.search(text) if "critical_care" in cues else None
    t = _time_statement(text, skip=crit)
    fams, cue = visit_families(
        cues, setting, has_level=t is not None or m is not None, kind=note_kind(note_type)
    )
    crit_minutes = None
    if crit is not None:
        crit_minutes = int(crit.group(1) or crit.group(2))
        fams.add("critical_care")
    if t is None and m is None and not fams:
        return None
    mdm = (m.group(1) or m.group(2)).lower() if m else None
    level_hits = [x for x in (t, m, crit) if x is not None]
    if level_hits:
        first = min(level_hits, key=lambda x: x.start())
        start, end = first.start(), first.end()
    elif cue is not None:
        start, end = cue.start(), cue.end()
    else:  # a family from the setting alone (ED, inpatient): nothing in the text to point at
        start = end = 0
    preventive = cues.get("preventive")
    if not any(f.startswith("preventive") for f in fams):
        preventive = None
    if age is None and preventive is not None:
        age = age_in_text(text)
    return EMDocumentation(
        minutes=_minutes(text, t) if t else None,
        mdm=mdm,
        start=start,
        end=end,
        families=frozenset(fams),
        cue_start=cue.start() if cue else -1,
        cue_end=cue.end() if cue else -1,
        age=age,
        critical_minutes=crit_minutes,
        preventive_start=preventive.start() if preventive else -1,
        preventive_end=preventive.end() if preventive else -1,
    )


def implied_level(family: str, doc: EMDocumentation) -> int | None:
    rules = _rules()
    spec = rules["families"][family]
    if family.startswith("preventive"):
        if doc.age is None:
            return None
        for level, (lo, hi) in rules["age_bands"].items():
            if lo <= doc.age <= hi:
                return int(level)
        return None
    minutes = doc.critical_minutes if family == "critical_care" else doc.minutes
    if family == "discharge" and minutes is None:
        # 99239 needs more than 30 minutes documented; without a time it is 99238
        return min(int(level) for level in spec["codes"].values())
    hospital = family.startswith("hospital")
    if (
        doc.mdm is not None
        and family not in ("discharge", "critical_care")
        and (family == "ed" or minutes is None or not spec["minutes"])
    ):
        return int(rules["mdm_levels_hospital" if hospital else "mdm_levels"][doc.mdm])
    if minutes is not None and spec["minutes"]:
        chosen = None
        for level, minimum in sorted(spec["minutes"].items(), key=lambda kv: kv[1]):
            if minutes >= minimum:
                chosen = int(level)
        return chosen
    if doc.mdm is not None and family not in ("discharge", "critical_care"):
        return int(rules["mdm_levels_hospital" if hospital else "mdm_levels"][doc.mdm])
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


def family_match(code: str, doc: EMDocumentation | None) -> float:
    """+1 when an E/M code's family is one the note documents, -1 when the note documents
    others, 0 when it documents none (or the code is not an E/M code)."""
    entry = _rules()["_code_family"].get(code)
    if entry is None or doc is None or not doc.families:
        return 0.0
    return 1.0 if entry[0] in doc.families else -1.0


def implied_codes(doc: EMDocumentation | None) -> list[str]:
    """Candidates for the ranker: the documented level's code in every family, and every code
    of a documented family whose level the note does not state."""
    if doc is None:
        return []
    out = []
    for family, spec in _rules()["families"].items():
        level = implied_level(family, doc)
        for code, lv in spec["codes"].items():
            if (level is not None and int(lv) == level) or (
                level is None and family in doc.families
            ):
                out.append(code)
    return out
