"""Load and validate the generator's rule files, and split phrasings and frames into families.

Everything the generator says comes from the files in `data/synthetic/resources/`:

* `icd_pool.tsv` - the ICD-10-CM codes it may emit (built by `build_pool`), with descriptions.
* `conditions.tsv` - hand-written clinical, abbreviated and lay terms for common codes.
* `history.tsv` - disease -> family-history (Z80-Z84) / personal-history (Z85-Z87) code.
* `integral.tsv` - diagnosis -> symptoms integral to it (written in the HPI, never coded).
* `procedures.tsv` - CPT/HCPCS codes with our own plain-language phrasings (no AMA text).
* `frames.json` - sentence frames; `specialties.json` - specialty code ranges and note types.

Held-out families: every phrasing of a code and every frame is assigned to exactly one split
(``train``, ``dev`` or ``test``) by a stable hash, so dev/test notes only use phrasings and
frames that train notes never saw.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from data.synthetic.phrasing import description_variants

SPLITS: tuple[str, ...] = ("train", "dev", "test")
KINDS = frozenset(
    {
        "chronic",
        "acute",
        "symptom",
        "injury",
        "external",
        "screening",
        "status",
        "pregnancy",
        "newborn",
    }
)
PROC_KINDS = frozenset(
    {
        "test",
        "proc",
        "imaging",
        "lab",
        "admin",
        "vadmin",
        "vaccine",
        "counsel",
        "therapy",
        "em_critical",
        "preventive",
        "screening",
        "addon",
        "care",
        "drug",
        "supply",
        "dme",
    }
)


class ResourceError(ValueError):
    """A rule file is malformed; the message names the file, line and bad value."""


def stable_hash(text: str) -> int:
    """A hash that is the same in every process (unlike `hash()`)."""
    return zlib.crc32(text.encode("utf-8"))


def assign_splits(items: list[str], salt: str, keep_first: bool = False) -> dict[str, str]:
    """Assign each item to one split by a stable hash.

    With `keep_first` the first item (a code's canonical phrasing) always goes to train and
    the alternatives are held out: the first (by hash) to test, the second to dev, the rest
    mostly to train. Without it (frames), 3+ items give every split at least one.
    """
    items = list(dict.fromkeys(items))
    out: dict[str, str] = {}
    if keep_first and items:
        out[items[0]] = "train"
        items = items[1:]
        # A lone alternative goes to dev or test by hash, so both splits see every kind of code.
        first_two = ("test", "dev") if stable_hash("s|" + salt) % 2 else ("dev", "test")
    else:
        first_two = ("test", "dev") if len(items) >= 3 else ("test", "train")
        if len(items) == 1:
            return {items[0]: "train"}
    order = sorted(items, key=lambda t: (stable_hash(salt + "|" + t), t))
    for i, item in enumerate(order):
        if i < 2:
            out[item] = first_two[i]
        elif i == 2 and not keep_first:
            out[item] = "train"  # every split gets at least one frame
        else:
            r = stable_hash("r|" + salt + "|" + item) % 20
            out[item] = "test" if r < 2 else "dev" if r < 4 else "train"
    return out


@dataclass(frozen=True, slots=True)
class Condition:
    code: str
    chapter: int
    tier: str  # "common" (hand lexicon) or "tail"
    kind: str
    weight: float
    description: str
    phrases: dict[str, tuple[str, ...]]  # split -> phrasings
    meds: tuple[str, ...] = ()
    sex: str | None = None
    min_age: int = 0
    max_age: int = 120


@dataclass(frozen=True, slots=True)
class Procedure:
    code: str
    system: str
    kind: str
    specialties: tuple[str, ...]
    phrases: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Frame:
    """A parsed sentence frame: literal text and slot names, alternating."""

    id: str
    text: str
    parts: tuple[tuple[int, str], ...]  # (LIT | SLOT | OPEN | CLOSE, text-or-slot-name)


@dataclass
class Lexicon:
    conditions: dict[str, Condition]
    procedures: dict[tuple[str, str], Procedure]
    family: dict[str, str]
    personal: dict[str, str]
    frames: dict[str, dict[str, tuple[Frame, ...]]]  # slot -> split -> frames
    specialties: dict[str, dict[str, object]]
    phrase_split: dict[tuple[str, str], str] = field(default_factory=dict)
    #: diagnosis code prefix -> symptom codes integral to it (written, never coded)
    integral: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def integral_symptoms(self, code: str) -> tuple[str, ...]:
        """Symptom codes integral to `code` (longest matching prefix), e.g. cough for pneumonia."""
        for n in range(len(code), 2, -1):
            found = self.integral.get(code[:n])
            if found is not None:
                return found
        return ()

    def chapter_of(self, code: str) -> int | None:
        """ICD-10-CM chapter of a pool code (or of its initial-encounter twin for 7th D)."""
        cond = self.conditions.get(code) or self.conditions.get(code[:-1] + "A")
        return None if cond is None else cond.chapter


_FEMALE = re.compile(
    r"pregnan|puerper|childbirth|maternal|\bfemale\b|uter|ovar|cervi[cx]|vagin|vulv|menstru|"
    r"menopaus|endometri|fallopian|labia|\bbreast\b.*female|gestation|abortion|lactat",
    re.I,
)
_MALE = re.compile(r"prostat|testi[cs]|scrot|penis|penile|\bmale\b|spermat|epididym|seminal", re.I)
_CHILD = re.compile(r"newborn|neonat|perinatal|infant|child|juvenile|pediatric|\bteething", re.I)
_OLD = re.compile(r"senile|age-related|postmenopausal|presbyopia|\bdementia\b", re.I)


def _demographics(code: str, desc: str) -> tuple[str | None, int, int]:
    sex = "F" if code[0] == "O" or _FEMALE.search(desc) else "M" if _MALE.search(desc) else None
    if code[0] == "P" or code.startswith(("Z38", "Z00.11")):
        return sex, 0, 0
    if code[0] == "O" or code.startswith(("Z3A", "Z34")):
        return "F", 16, 44
    if code.startswith("Z00.12"):
        return sex, 0, 17
    if _CHILD.search(desc):
        return sex, 0, 17
    if _OLD.search(desc):
        return sex, 55, 120
    if code[0] in "EFIJKMN" or code.startswith(("C", "D0", "D3", "D4", "G3", "Z79", "Z9")):
        return sex, 18, 120
    return sex, 0, 120


def _read_tsv(name: str, ncols: int) -> list[list[str]]:
    text = resources.files("data.synthetic.resources").joinpath(name).read_text("utf-8")
    rows = []
    for lineno, line in enumerate(text.splitlines()[1:], start=2):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < ncols - 1:
            raise ResourceError(f"{name} line {lineno}: expected {ncols} columns, got {len(cols)}")
        rows.append(cols + [""] * (ncols - len(cols)))
    return rows


LIT, SLOT, OPEN, CLOSE = 0, 1, 2, 3
_TOKEN = re.compile(r"\{(\w+)\}|«|»")


def _parse_frame(slot: str, idx: int, text: str) -> Frame:
    parts: list[tuple[int, str]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append((LIT, text[pos : m.start()]))
        tok = m.group(0)
        parts.append(
            (OPEN, "") if tok == "«" else (CLOSE, "") if tok == "»" else (SLOT, m.group(1))
        )
        pos = m.end()
    if pos < len(text):
        parts.append((LIT, text[pos:]))
    if text.count("«") != text.count("»"):
        raise ResourceError(f"frames.json {slot}[{idx}]: unbalanced « » in {text!r}")
    return Frame(id=f"{slot}.{stable_hash(text) % 100000:05d}", text=text, parts=tuple(parts))


def _split_phrases(key: str, phrases: list[str]) -> dict[str, tuple[str, ...]]:
    assigned = assign_splits(phrases, key, keep_first=True)
    return {s: tuple(p for p in dict.fromkeys(phrases) if assigned[p] == s) for s in SPLITS}


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """Load, validate and split every rule file (cached; about a second)."""
    lex_rows = {r[0]: r for r in _read_tsv("conditions.tsv", 5)}
    conditions: dict[str, Condition] = {}
    phrase_split: dict[tuple[str, str], str] = {}
    for code, chapter, _tier, sex_e, amin, amax, desc, incl in _read_tsv("icd_pool.tsv", 8):
        terms: list[str] = []
        kind, weight, meds = "tail", 1.0, ()
        tier = "common" if code in lex_rows else "tail"
        if code in lex_rows:
            _, kind, w, lex_terms, med_text = lex_rows[code]
            if kind not in KINDS:
                raise ResourceError(
                    f"conditions.tsv {code}: kind {kind!r} not one of {sorted(KINDS)}"
                )
            weight = float(w)
            terms = [t.strip() for t in lex_terms.split("|") if t.strip()]
            meds = tuple(m.strip() for m in med_text.split("|") if m.strip())
        else:
            kind = {"19": "injury", "20": "external", "21": "status"}.get(chapter, "tail")
        variants = description_variants(desc, tuple(t for t in incl.split("|") if t))
        seen = {t.lower() for t in terms}
        terms += [v for v in variants if v.lower() not in seen]
        split = _split_phrases(code, terms)
        for s, ps in split.items():
            for p in ps:
                phrase_split[(code, p)] = s
        sex, lo, hi = _demographics(code, desc)
        # The catalog's sex/age edits (MCE-style) win over the heuristics when present.
        sex = sex_e or sex
        lo = max(lo, int(amin)) if amin else lo
        hi = min(hi, int(amax)) if amax else hi
        if lo > hi:
            lo, hi = int(amin or 0), int(amax or 120)
        conditions[code] = Condition(
            code, int(chapter), tier, kind, weight, desc, split, meds, sex, lo, hi
        )
    unknown = sorted(set(lex_rows) - set(conditions))
    if unknown:
        raise ResourceError(f"conditions.tsv codes missing from icd_pool.tsv: {unknown}")

    family: dict[str, str] = {}
    personal: dict[str, str] = {}
    for kind, disease, z in _read_tsv("history.tsv", 3):
        if kind not in ("family", "personal"):
            raise ResourceError(f"history.tsv: kind {kind!r} not one of family, personal")
        for c in (disease, z):
            if c not in conditions:
                raise ResourceError(f"history.tsv: code {c} missing from icd_pool.tsv")
        (family if kind == "family" else personal)[disease] = z

    integral: dict[str, tuple[str, ...]] = {}
    for prefix, symptoms in _read_tsv("integral.tsv", 2):
        codes = tuple(c.strip() for c in symptoms.split("|") if c.strip())
        missing = [c for c in codes if c not in conditions]
        if missing:
            raise ResourceError(f"integral.tsv {prefix}: symptom codes not in the pool: {missing}")
        integral[prefix.strip()] = codes

    procedures: dict[tuple[str, str], Procedure] = {}
    for code, system, kind, specs, phrases in _read_tsv("procedures.tsv", 5):
        if system not in ("CPT", "HCPCS"):
            raise ResourceError(f"procedures.tsv {code}: system {system!r} not CPT or HCPCS")
        if kind not in PROC_KINDS:
            raise ResourceError(f"procedures.tsv {code}: kind {kind!r} not in {sorted(PROC_KINDS)}")
        plist = [p.strip() for p in phrases.split("|") if p.strip()]
        split = _split_phrases(f"{system}:{code}", plist)
        procedures[(system, code)] = Procedure(
            code, system, kind, tuple(s.strip() for s in specs.split(",")), split
        )

    res = resources.files("data.synthetic.resources")
    raw_frames = json.loads(res.joinpath("frames.json").read_text("utf-8"))
    frames: dict[str, dict[str, tuple[Frame, ...]]] = {}
    for slot, texts in raw_frames.items():
        if slot.startswith("_"):
            continue
        if len(texts) < 3:
            raise ResourceError(f"frames.json {slot}: needs at least 3 frames, has {len(texts)}")
        parsed = [_parse_frame(slot, i, t) for i, t in enumerate(texts)]
        assigned = assign_splits(texts, slot)
        frames[slot] = {s: tuple(f for f in parsed if assigned[f.text] == s) for s in SPLITS}
    specialties = json.loads(res.joinpath("specialties.json").read_text("utf-8"))
    specialties.pop("_doc", None)
    return Lexicon(
        conditions, procedures, family, personal, frames, specialties, phrase_split, integral
    )
