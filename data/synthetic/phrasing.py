"""Turn an ICD-10-CM description into the ways a physician would write it.

`description_variants` rewrites the official title the way notes do: it drops "unspecified"
and encounter wording (the encounter lives in the note's context instead), reorders
"X of Y" into "Y X", abbreviates common terms, splits parenthesised alternatives and uses the
inclusion terms. `typo` makes the occasional misspelling. All functions are pure.
"""

from __future__ import annotations

import random
import re

_ENCOUNTER = re.compile(
    r",? (?:initial|subsequent) encounter(?: for (?:closed|open) fracture)?(?: type \w+)?"
    r"(?: or \w+)?|,? sequela$",
    re.IGNORECASE,
)
_UNSPEC = [
    (re.compile(r",? unspecified$", re.I), ""),
    (re.compile(r", unspecified,", re.I), ","),
    (re.compile(r", unspecified [\w ]+$", re.I), ""),
    (re.compile(r", unspecified (?:site|part|region|degree)\b", re.I), ""),
    (
        re.compile(
            r"\bunspecified (?:part|site|type|organism|cause|region|degree|ear|eye)s? of ", re.I
        ),
        "",
    ),
    (re.compile(r"\bof unspecified (?:site|type|part|cause)\b", re.I), ""),
    (re.compile(r",? unspecified (?:whether|as to)[^,]*", re.I), ""),
    (re.compile(r"\bunspecified ", re.I), ""),
    (re.compile(r",? not otherwise specified", re.I), ""),
    (re.compile(r",? without complications?$", re.I), ""),
    (
        re.compile(
            r",? without (?:mention of )?(?:complication|coma|exacerbation|status \w+)[^,]*", re.I
        ),
        "",
    ),
    (re.compile(r",? uncomplicated$", re.I), ""),
    (re.compile(r",? without mention of [^,]*", re.I), ""),
]
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_BRACKET = re.compile(r"\s*\[[^\]]*\]")

#: Full term -> abbreviations / short forms used in notes (applied to one variant each).
ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "type 2 diabetes mellitus": ("DM2", "T2DM", "type 2 DM"),
    "type 1 diabetes mellitus": ("DM1", "T1DM", "type 1 DM"),
    "diabetes mellitus": ("DM",),
    "hypertension": ("HTN",),
    "chronic kidney disease": ("CKD",),
    "chronic obstructive pulmonary disease": ("COPD",),
    "heart failure": ("HF",),
    "congestive heart failure": ("CHF",),
    "atrial fibrillation": ("AFib", "AF"),
    "coronary artery": ("coronary",),
    "myocardial infarction": ("MI",),
    "gastro-esophageal reflux disease": ("GERD",),
    "urinary tract infection": ("UTI",),
    "osteoarthritis": ("OA",),
    "rheumatoid arthritis": ("RA",),
    "major depressive disorder": ("MDD",),
    "deep vein thrombosis": ("DVT",),
    "embolism and thrombosis": ("thrombosis",),
    "cerebral infarction": ("stroke", "CVA"),
    "malignant neoplasm of": ("cancer of", "carcinoma of"),
    "benign neoplasm of": ("benign tumor of",),
    "fracture": ("fx",),
    "right": ("rt", "R"),
    "left": ("lt", "L"),
    "bilateral": ("bilat",),
    "lower limb": ("leg",),
    "upper limb": ("arm",),
    "abdominal": ("abd",),
    "human immunodeficiency virus": ("HIV",),
    "attention-deficit hyperactivity disorder": ("ADHD",),
    "obstructive sleep apnea": ("OSA",),
    "disorder": ("d/o",),
    "without": ("w/o",),
    "with": ("w/",),
    "history": ("hx",),
    "infection": ("infxn",),
}
_ABBREV_RE = {k: re.compile(r"\b" + re.escape(k) + r"\b", re.I) for k in ABBREVIATIONS}
_KEEP_CAPS = re.compile(r"^(?:[A-Z]{2,}|[A-Z][a-z]+'s|[A-Z][a-z]+-[A-Z])")
_SITE_TAIL = re.compile(
    r"^(?P<head>[^,]+?), (?P<site>(?:right|left|bilateral|multiple sites|upper|lower)[^,]*)$"
)
_OF = re.compile(r"^(?P<head>[^,]+?) of (?P<site>(?:the )?[a-z][a-z -]{2,30})$")


def _lower_first(text: str) -> str:
    if not text or _KEEP_CAPS.match(text):
        return text
    return text[0].lower() + text[1:]


def _clean(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text)
    text = re.sub(r"\s+,", ",", text)
    return text.strip(" ,;-")


_PREP_PAREN = re.compile(r"\s*\((on|from|in|at|of|to|into|off|by|with)\)", re.I)


def strip_description(desc: str) -> str:
    """The description without encounter wording, 'unspecified', brackets and parentheses."""
    text = _ENCOUNTER.sub("", desc)
    first = _PREP_PAREN.search(text)
    if first:
        text = (
            text[: first.start()] + " " + first.group(1) + _PREP_PAREN.sub("", text[first.end() :])
        )
    text = re.sub(r" NOS\b", "", text)
    text = _BRACKET.sub("", text)
    for rx, rep in _UNSPEC:
        text = rx.sub(rep, text)
    text = _PAREN.sub("", text)
    return _lower_first(_clean(text))


def description_variants(desc: str, inclusion_terms: tuple[str, ...] = ()) -> list[str]:
    """Distinct phrasings of one code, first the plain rewording of the description."""
    base = strip_description(desc)
    out: list[str] = []

    def add(text: str) -> None:
        text = _clean(text)
        if len(text) >= 3 and text.lower() not in {o.lower() for o in out}:
            out.append(text)

    add(base)
    # Parenthesised words: "Essential (primary) hypertension" -> "essential primary hypertension".
    m = _PAREN.search(_ENCOUNTER.sub("", desc))
    if (
        m
        and m.group(0).startswith(" ")
        and m.group(1).isalpha()
        and m.group(1).islower()
        and not _PREP_PAREN.match(m.group(0))
    ):
        # Keep the parenthesised word inline: "aortic (valve) stenosis" -> "aortic valve
        # stenosis" (replacing the word before it would change the meaning).
        plain = _ENCOUNTER.sub("", desc)
        add(strip_description(plain[: m.start()] + " " + m.group(1) + plain[m.end() :]))
    # "Osteoarthritis, right knee" -> "osteoarthritis of right knee" / "right knee osteoarthritis".
    m2 = _SITE_TAIL.match(base)
    if m2:
        add(f"{m2.group('head')} of {m2.group('site')}")
        add(f"{m2.group('site')} {_lower_first(m2.group('head'))}")
    m3 = _OF.match(base)
    if m3 and " with" not in base and len(m3.group("head").split()) <= 4:
        site = m3.group("site").removeprefix("the ")
        add(f"{site} {_lower_first(m3.group('head'))}")
    # One abbreviated variant per matching term (first matching term only, to keep lists short).
    for key, rx in _ABBREV_RE.items():
        if rx.search(base):
            short = ABBREVIATIONS[key][0]
            add(rx.sub(short, base, count=1))
            break
    for term in inclusion_terms:
        if "classifiable" in term or term.strip() == "NOS":
            continue
        add(strip_description(term))
    return out


_VOWELS = "aeiou"


def typo(word: str, rng: random.Random) -> str:
    """A plausible misspelling of `word` (swap, drop or double a letter)."""
    if len(word) < 6 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 2)
    kind = rng.random()
    if kind < 0.4:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.7:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def maybe_typo(phrase: str, rng: random.Random, rate: float) -> str:
    """With probability `rate`, misspell one longer word of `phrase`."""
    if rng.random() >= rate:
        return phrase
    words = phrase.split(" ")
    idx = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and w.islower()]
    if not idx:
        return phrase
    i = rng.choice(idx)
    words[i] = typo(words[i], rng)
    return " ".join(words)
