"""Combination codes the classification presumes from conditions the note affirms.

ICD-10-CM links some conditions without the physician saying so (Official Guidelines I.A.15,
"with", and I.C.9.a): type 2 diabetes and chronic kidney disease are E11.22, hypertension and
CKD are I12.9, hypertension and heart failure I11.0. A note that lists "T2DM" and "CKD stage 3a"
as separate problems therefore documents E11.22 (with N18.31), and E11.9 ("without
complications") is wrong beside it. `data/combinations.json` holds the rules; this module finds
which apply to a note. The ranker gets them as a feature (`combination_rule`: +1 for a presumed
combination code, -1 for a code it replaces) and the combination's evidence is the mentions of
its components.

Not every corpus is coded that way: CodiEsp's coders report "diabetic" and "chronic kidney
disease" as E11.9 and N18.x. `followed_rules` reads from a training corpus's gold codes which
rules its coders follow, and a model applies only those.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from model.v1.analysis import NoteAnalysis


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    components: tuple[tuple[str, ...], ...]  # one tuple of code prefixes per component
    replaces: tuple[str, ...]


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    raw = resources.files("model.v1").joinpath("data/combinations.json").read_text("utf-8")
    out = []
    for i, row in enumerate(json.loads(raw)["rules"]):
        comps = row.get("all")
        if not row.get("code") or not isinstance(comps, list) or len(comps) < 2:
            raise ValueError(f"combinations.json: rules[{i}] needs 'code' and two 'all' lists")
        out.append(
            Rule(
                code=str(row["code"]),
                components=tuple(tuple(str(p).upper() for p in comp) for comp in comps),
                replaces=tuple(str(c) for c in row.get("replaces", ())),
            )
        )
    return tuple(out)


def followed_rules(
    gold: Iterable[Iterable[tuple[str, str]]],
) -> tuple[frozenset[str], dict[str, dict[str, int]]]:
    """Which rules a corpus's coders follow, from its gold code sets.

    Per rule: `combined`, notes whose gold holds the combination code; `separate`, notes whose
    gold holds a code of every component (other than the combination) and neither the
    combination nor a larger one replacing it. A rule is followed unless `separate` exceeds
    `combined`, so a corpus that never shows the pattern keeps the guideline. Returns the
    followed rules' codes and the counts per rule."""
    sets = [{c.upper() for s, c in g if s == "ICD-10-CM"} for g in gold]
    counts: dict[str, dict[str, int]] = {}
    followed = set()
    for rule in rules():
        code = rule.code.upper()
        larger = {r.code.upper() for r in rules() if code in (x.upper() for x in r.replaces)}
        combined = separate = 0
        for codes in sets:
            if code in codes:
                combined += 1
            elif not codes & larger and all(
                any(c != code and c.startswith(prefixes) for c in codes)
                for prefixes in rule.components
            ):
                separate += 1
        counts[rule.code] = {"combined": combined, "separate": separate}
        if separate <= combined:
            followed.add(rule.code)
    return frozenset(followed), counts


def presumed_combinations(
    analysis: NoteAnalysis,
    affirmed: Sequence[int],
    codes: Sequence[tuple[str, str]],
    index: dict[tuple[str, str], int],
    followed: frozenset[str] | None = None,
) -> tuple[dict[int, tuple[tuple[int, int], ...]], dict[int, int]]:
    """(combination code index -> its components' mention spans, replaced code index -> the
    combination that replaces it).

    `affirmed`: code indices the note names affirmatively (see `cooccurrence.anchors`). A
    component is met by an affirmed ICD-10-CM code under one of its prefixes other than the
    combination code itself; the strongest such mention is the component's evidence. A found
    combination may itself be replaced by a larger one (I12.9 by I13.0 when heart failure is
    affirmed too). `followed`: the rules to apply (by combination code); None, all."""
    found: dict[int, tuple[tuple[int, int], ...]] = {}
    replaced: dict[int, int] = {}
    icd = [(c, codes[c][1].upper()) for c in affirmed if codes[c][0] == "ICD-10-CM"]
    for rule in rules():
        target = index.get(("ICD-10-CM", rule.code))
        if target is None or (followed is not None and rule.code not in followed):
            continue
        spans: list[tuple[int, int]] = []
        for prefixes in rule.components:
            hits = [
                analysis.matches[c]
                for c, code in icd
                if code != rule.code.upper() and code.startswith(prefixes)
            ]
            if not hits:
                break
            best = max(hits, key=lambda m: (m.coverage * m.weight, -m.start))
            spans.append((best.start, best.end))
        else:
            found[target] = tuple(spans)
            for code in rule.replaces:  # later (larger) rules take over: I13.0 over I12.9
                i = index.get(("ICD-10-CM", code))
                if i is not None:
                    replaced[i] = target
    return found, replaced


def apply_combinations(
    scores: dict[int, float], replaced: dict[int, int]
) -> tuple[dict[int, float], set[int]]:
    """Coding rule on the output: a code a presumed combination replaces (E11.9 beside E11.22)
    never outranks it; when it did, the two trade scores. Returns the scores and the replaced
    codes present (never `accepted`)."""
    out = dict(scores)
    present = set()
    for r, combo in replaced.items():
        if r not in out:
            continue
        present.add(r)
        if combo in out and out[r] > out[combo]:
            out[r], out[combo] = out[combo], out[r]
    return out, present
