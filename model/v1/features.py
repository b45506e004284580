"""Candidate codes for a note and the feature row of each (note, candidate) pair."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Container, Sequence
from dataclasses import dataclass

import numpy as np

from model.v1.analysis import CONTEXT_FLAGS, NoteAnalysis
from model.v1.em import EMDocumentation, family_match, level_match
from model.v1.matcher import CodeMatch
from model.v1.stats import CodeStats
from model.v1.tokens import occurrences

#: Planning words in the sentence that names a procedure. A ranker feature (`planned_mention`),
#: and a procedure named only in such a sentence is never marked `accepted` whatever its score
#: (billing a procedure that was only ordered or planned is billing a service not rendered).
PLANNING = re.compile(
    r"\b(?:will|would|to\s+be|plan(?:s|ned|ning)?|order(?:s|ed|ing)?|schedul(?:e|es|ed|ing)"
    r"|recommend(?:s|ed|ation)?|refer(?:s|red|ral)?|consider(?:s|ed|ing)?|request(?:s|ed)?"
    r"|pending|await(?:s|ed|ing)?|next|future|upcoming|declin(?:e|es|ed)|defer(?:s|red)?"
    r"|arrang(?:e|es|ed|ing)|candidate|if|should|may|might)\b",
    re.IGNORECASE,
)

SYSTEM_IDS: dict[str, int] = {"ICD-10-CM": 0, "CPT": 1, "HCPCS": 2}
SETTING_IDS: dict[str | None, int] = {"outpatient": 0, "inpatient": 1, "ED": 2, None: 3}

FEATURE_NAMES: tuple[str, ...] = (
    "lr_prob",
    "lr_logit",
    "lr_rank",
    "in_label_space",
    "matched",
    "coverage",
    "match_weight",
    "phrase_tokens",
    "match_source",
    "strong_sentences",
    "support",
    "mention_compact",
    "left_modifiers",
    "right_modifiers",
    *(f"ctx_{name}" for name in CONTEXT_FLAGS),
    "section_group",
    "mention_position",
    "log_prior",
    "log_category_prior",
    "log_unmatched_prior",
    "unmatched_share",
    "lr_top_precision",
    "match_precision",
    "flagged_precision",
    "cooccurrence",
    "system",
    "chapter",
    "unspecified",
    "code_length",
    "sibling_gap",
    "sibling_rank",
    "outmatched_by",
    "contradicted",
    "dominated_by",
    "subsumed_in_category",
    "subsumed_in_system",
    "inside_history_mention",
    "planned_mention",
    "combination_rule",
    "em_rule",
    "em_family",
    "history_rule",
    "setting",
    "log_note_chars",
    "log_n_matches",
)


@dataclass
class CodeTable:
    """Static per-code facts, indexed like the model's code space."""

    codes: list[tuple[str, str]]
    system: np.ndarray  # int8
    chapter: np.ndarray  # int8: letter index for ICD, 26 for CPT, 27 for HCPCS
    unspecified: np.ndarray  # int8
    code_length: np.ndarray  # int8
    category: np.ndarray  # int32: id of the 3-character category (or CPT family)
    is_em: np.ndarray  # bool


def build_code_table(
    codes: list[tuple[str, str]], descriptions: dict[tuple[str, str], str], em_codes: set[str]
) -> CodeTable:
    n = len(codes)
    system = np.zeros(n, np.int8)
    chapter = np.zeros(n, np.int8)
    unspec = np.zeros(n, np.int8)
    length = np.zeros(n, np.int8)
    category = np.zeros(n, np.int32)
    is_em = np.zeros(n, bool)
    cats: dict[str, int] = {}
    for i, (sys_name, code) in enumerate(codes):
        system[i] = SYSTEM_IDS[sys_name]
        if sys_name == "ICD-10-CM":
            chapter[i] = ord(code[0].upper()) - ord("A")
            cat_key = code[:3]
        else:
            chapter[i] = 26 if sys_name == "CPT" else 27
            cat_key = f"{sys_name}:{code[:3]}"
        unspec[i] = "unspecified" in descriptions.get((sys_name, code), "").lower()
        length[i] = len(code.replace(".", ""))
        category[i] = cats.setdefault(cat_key, len(cats))
        is_em[i] = code in em_codes
    return CodeTable(codes, system, chapter, unspec, length, category, is_em)


def candidates(
    analysis: NoteAnalysis,
    lr_codes: np.ndarray,
    lr_probs: np.ndarray,
    em: list[int],
    *,
    lr_top: int = 50,
    match_top: int = 100,
) -> list[int]:
    """Candidate code indices: top classifier codes, strongest matches and the E/M rule code."""
    chosen: dict[int, None] = {}
    if lr_probs.size:
        top = np.argsort(-lr_probs)[:lr_top]
        for j in top:
            chosen[int(lr_codes[j])] = None
    ranked = sorted(analysis.matches.values(), key=lambda m: (-m.coverage, -m.weight))
    for m in ranked[:match_top]:
        chosen[m.code_index] = None
    for code in em:
        chosen[code] = None
    for code in analysis.history:
        chosen[code] = None
    for code in analysis.combinations:
        chosen[code] = None
    return list(chosen)


def feature_rows(
    analysis: NoteAnalysis,
    cands: Sequence[int],
    lr_by_code: dict[int, tuple[float, float, int]],
    table: CodeTable,
    stats: CodeStats,
    cooccurrence: np.ndarray,
    em: EMDocumentation | None,
    setting: str | None,
    vocabulary: Container[str] = frozenset(),
) -> np.ndarray:
    """One row per candidate, columns in `FEATURE_NAMES` order. `vocabulary`: the words of the
    code phrases (the matcher's), for the modifier counts."""
    n_sent = max(1, len(analysis.sentences))
    matches = analysis.matches
    modifiers = _modifiers(analysis, cands, vocabulary)
    # Best coverage per category among candidates, for sibling competition.
    cat_cov: dict[int, list[float]] = {}
    for c in cands:
        m = matches.get(c)
        cat_cov.setdefault(int(table.category[c]), []).append(m.coverage if m else 0.0)
    for v in cat_cov.values():
        v.sort(reverse=True)
    dominated = _dominated(matches, cands)
    outmatched = _outmatched(matches, cands, table)
    subsumed = _subsumed(analysis, cands, table)
    in_history = _inside_history(analysis, cands)
    prior = stats.prior
    log_chars = math.log1p(len(analysis.text))
    log_matches = math.log1p(len(matches))
    setting_id = SETTING_IDS.get(setting, 3)
    rows = np.zeros((len(cands), len(FEATURE_NAMES)), dtype=np.float32)
    for i, c in enumerate(cands):
        lr = lr_by_code.get(c)
        m = matches.get(c)
        ctx = analysis.context.get(c, (False,) * len(CONTEXT_FLAGS))
        cov = m.coverage if m else 0.0
        siblings = cat_cov[int(table.category[c])]
        sibling_gap = siblings[0] - cov
        sibling_rank = siblings.index(cov) if cov in siblings else len(siblings)
        em_rule = level_match(table.codes[c][1], em) if table.is_em[c] else 0.0
        em_family = family_match(table.codes[c][1], em) if table.is_em[c] else 0.0
        row = [
            lr[0] if lr else 0.0,
            lr[1] if lr else -10.0,
            math.log1p(lr[2]) if lr else 6.0,
            1.0 if lr else 0.0,
            1.0 if m else 0.0,
            cov,
            m.weight if m else 0.0,
            m.n_tokens if m else 0.0,
            m.source if m else 5,
            m.n_sentences if m else 0.0,
            m.support if m else 0.0,
            m.compact if m else 0.0,
            *modifiers.get(c, (0.0, 0.0)),
            *(float(x) for x in ctx),
            analysis.section_of_match.get(c, 11) if m else 11,
            (m.sentence / n_sent) if m else 1.0,
            math.log1p(prior[c]),
            math.log1p(stats.category_prior[table.category[c]]),
            math.log1p(stats.unmatched[c]),
            stats.unmatched[c] / (prior[c] + 2.0),
            stats.top_precision[c],
            stats.match_precision[c],
            stats.flagged_precision[c],
            cooccurrence[i],
            table.system[c],
            table.chapter[c],
            table.unspecified[c],
            table.code_length[c],
            sibling_gap,
            sibling_rank,
            outmatched.get(c, 0.0),
            float(m.contradicted) if m else 0.0,
            dominated.get(c, 0.0),
            *subsumed.get(c, (0.0, 0.0)),
            in_history.get(c, 0.0),
            float(table.system[c] != 0 and not table.is_em[c] and planned_mention(analysis, m)),
            -1.0 if c in analysis.replaced else float(c in analysis.combinations),
            em_rule,
            em_family,
            analysis.history[c][0] if c in analysis.history else 0,
            setting_id,
            log_chars,
            log_matches,
        ]
        rows[i] = row
    return rows


#: What may stand between a mention and a word that modifies it: spaces and hyphens only.
_ADJACENT_GAP = re.compile(r"[ \t\-]*")
MAX_MODIFIERS = 3


def _modifiers(
    analysis: NoteAnalysis, cands: Sequence[int], vocabulary: Container[str]
) -> dict[int, tuple[float, float]]:
    """For each matched candidate: how many words of the code-phrase vocabulary stand right
    before and right after its mention (up to `MAX_MODIFIERS` each side, over spaces and hyphens
    only, stopping at any other word or mark).

    They are words the note adds that the code's phrase does not explain: "tuberculous
    pneumonia" says more than J18.9, "chronic sinus infection" is not the acute J01.90, "primary
    pulmonary HTN" is not I10. A specific code whose phrase the matcher does not know leaves its
    generic sibling matched with such words beside it; frames ("presents with", "includes") add
    none, since they are not vocabulary words.
    """
    tokens = analysis.tokens
    if not tokens or not vocabulary:
        return {}
    text = analysis.text
    starts = [t.start for t in tokens]
    out: dict[int, tuple[float, float]] = {}
    for c in cands:
        m = analysis.matches.get(c)
        if m is None or m.end <= m.start:
            continue
        left = right = 0
        edge, i = m.start, bisect.bisect_left(starts, m.start) - 1
        while i >= 0 and left < MAX_MODIFIERS:
            t = tokens[i]
            if t.end > edge or _ADJACENT_GAP.fullmatch(text, t.end, edge) is None:
                break
            if t.norm not in vocabulary:
                break
            left += 1
            edge = t.start
            while i >= 0 and tokens[i].start >= edge:  # an abbreviation's expansion: one word
                i -= 1
        edge, i = m.end, bisect.bisect_left(starts, m.end)
        while i < len(tokens) and right < MAX_MODIFIERS:
            t = tokens[i]
            if t.start < edge or _ADJACENT_GAP.fullmatch(text, edge, t.start) is None:
                break
            if t.norm not in vocabulary:
                break
            right += 1
            edge = t.end
            while i < len(tokens) and tokens[i].end <= edge:
                i += 1
        if left or right:
            out[c] = (float(left), float(right))
    return out


def _dominated(matches: dict[int, CodeMatch], cands: Sequence[int]) -> dict[int, float]:
    """For each fully matched candidate, how many more tokens the longest other fully matched
    phrase overlapping its mention has (0 when none is longer).

    "Type 2 diabetes mellitus with diabetic polyneuropathy" fully contains the words of "type 2
    diabetes mellitus": the longer, more specific phrase is the code to assign (a coder codes to
    the highest specificity documented), so the shorter one is dominated.
    """
    full = [m for m in matches.values() if m.coverage >= 0.99]
    if len(full) < 2:
        return {}
    starts = np.array([m.start for m in full])
    ends = np.array([m.end for m in full])
    ntok = np.array([m.n_tokens for m in full])
    out: dict[int, float] = {}
    for c in cands:
        m = matches.get(c)
        if m is None or m.coverage < 0.99:
            continue
        overlap = (starts < m.end) & (m.start < ends) & (ntok > m.n_tokens)
        if overlap.any():
            out[c] = float(ntok[overlap].max() - m.n_tokens)
    return out


def _subsumed(
    analysis: NoteAnalysis, cands: Sequence[int], table: CodeTable
) -> dict[int, tuple[float, float]]:
    """For each fully matched candidate whose mention, wherever it occurs in the note, lies
    inside a longer full mention of another candidate of the same code system: (1.0 when such
    a candidate shares its 3-character category, 1.0).

    "AFib" everywhere inside "paroxysmal AFib" says the note names I48.0, not I48.91 as well; a
    coder codes to the highest specificity documented. Across categories the rule has
    exceptions ("hypertensive heart disease with heart failure" is coded with its I50.x too), so
    the two cases are separate features for the ranker to weigh.
    """
    text = analysis.text
    full = [
        (c, m)
        for c in cands
        if (m := analysis.matches.get(c)) is not None and m.coverage >= 0.99 and m.end > m.start
    ]
    if len(full) < 2:
        return {}
    places = {c: occurrences(text, text[m.start : m.end]) for c, m in full}
    out: dict[int, tuple[float, float]] = {}
    for c, m in full:
        mine = places[c]
        if not mine:
            continue
        same = other = 0.0
        for d, dm in full:
            if d == c or dm.n_tokens <= m.n_tokens or table.system[d] != table.system[c]:
                continue
            theirs = places[d]
            if all(any(s2 <= s and e <= e2 for s2, e2 in theirs) for s, e in mine):
                other = 1.0
                if table.category[d] == table.category[c]:
                    same = 1.0
                    break
        if other:
            out[c] = (same, other)
    return out


def _inside_history(analysis: NoteAnalysis, cands: Sequence[int]) -> dict[int, float]:
    """1.0 for a candidate whose mention lies inside the mention another code's personal or
    family history code was derived from ("History of concussion ..." gives Z87.820; the
    concussion code itself is the history, not a current injury)."""
    if not analysis.history:
        return {}
    sources = [(s, e) for _, s, e in analysis.history.values()]
    out: dict[int, float] = {}
    for c in cands:
        m = analysis.matches.get(c)
        if m is None or c in analysis.history:
            continue
        if any(s <= m.start and m.end <= e for s, e in sources):
            out[c] = 1.0
    return out


def planned_mention(analysis: NoteAnalysis, m: CodeMatch | None) -> bool:
    """Whether the sentence holding the code's best mention has planning words (`PLANNING`):
    "will schedule a colonoscopy" orders a procedure that was not done at this encounter. Used
    for procedure codes only (diagnoses have their own context flags; E/M codes their rules)."""
    if m is None or not analysis.sentences:
        return False
    start, end = analysis.sentences[min(m.sentence, len(analysis.sentences) - 1)]
    return PLANNING.search(analysis.text, start, end) is not None


def _outmatched(
    matches: dict[int, CodeMatch], cands: Sequence[int], table: CodeTable
) -> dict[int, float]:
    """For each candidate with a partial match: how much more coverage the best other candidate
    of the same system has on a mention overlapping its own.

    "DM2 without complications" fully names E11.9 and covers 4 of E10.9's 5 words ("type 1
    diabetes mellitus without complications"): E10 is another category, so the sibling features
    do not see that the same words name E11.9 better.
    """
    partial = [c for c in cands if (m := matches.get(c)) is not None and m.coverage < 0.99]
    if not partial:
        return {}
    others = [(c, matches[c]) for c in cands if c in matches]
    out: dict[int, float] = {}
    for c in partial:
        m = matches[c]
        best = max(
            (
                o.coverage
                for d, o in others
                if d != c
                and table.system[d] == table.system[c]
                and o.start < m.end
                and m.start < o.end
            ),
            default=0.0,
        )
        if best > m.coverage:
            out[c] = best - m.coverage
    return out
