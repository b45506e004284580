"""Family and personal history status codes from the disease mentions they are about.

"Mother had breast cancer" is coded Z80.3 (family history of malignant neoplasm of breast), not
C50.919; "history of ischaemic stroke" is Z86.73, not I63.9. The phrase matcher finds the disease
and the context analyser flags the mention as family or historical; this module maps the disease
code to its history code through `data/history_codes.json` (ICD-10-CM chapter ranges, longest
prefix first). The ranker then weighs the derived code like any other candidate.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from model.v1.analysis import CONTEXT_FLAGS, NoteAnalysis

FAMILY, PERSONAL = 1, 2
_FAMILY_FLAG = CONTEXT_FLAGS.index("family")
_HISTORY_FLAG = CONTEXT_FLAGS.index("historical")
_BLOCKING = tuple(CONTEXT_FLAGS.index(f) for f in ("negated", "hypothetical", "ruled_out"))


@lru_cache(maxsize=1)
def _tables() -> dict[int, list[tuple[str, str]]]:
    raw = resources.files("model.v1").joinpath("data/history_codes.json").read_text("utf-8")
    data = json.loads(raw)
    out: dict[int, list[tuple[str, str]]] = {}
    for kind, key in ((FAMILY, "family"), (PERSONAL, "personal")):
        rows = data.get(key)
        if not isinstance(rows, list):
            raise ValueError(f"history_codes.json: '{key}' must be a list of rules")
        pairs = []
        for i, row in enumerate(rows):
            if not isinstance(row, dict) or not row.get("prefixes") or not row.get("code"):
                raise ValueError(f"history_codes.json: {key}[{i}] needs 'prefixes' and 'code'")
            pairs += [(str(p).upper(), str(row["code"])) for p in row["prefixes"]]
        out[kind] = sorted(pairs, key=lambda pc: -len(pc[0]))
    return out


def history_code(kind: int, disease: str) -> str | None:
    """The family (`FAMILY`) or personal (`PERSONAL`) history code for an ICD-10-CM code."""
    code = disease.upper()
    if code.startswith("Z"):
        return None
    for prefix, target in _tables()[kind]:
        if code.startswith(prefix):
            return target
    return None


def derived_history(
    analysis: NoteAnalysis,
    codes: list[tuple[str, str]],
    index: dict[tuple[str, str], int],
    *,
    min_coverage: float = 0.8,
) -> dict[int, tuple[int, int, int]]:
    """History code index -> (kind, start, end of the strongest disease mention behind it).

    A mention inside a longer one that also yields a history code is left out: in "grandfather:
    Alzheimer's dementia" the disease is G30.9 (Z82.0), not the "dementia" inside it (F03.90,
    Z81.8)."""
    found: list[tuple[int, float, int, int, int]] = []
    for c, m in analysis.matches.items():
        ctx = analysis.context.get(c)
        if ctx is None or m.coverage < min_coverage or any(ctx[i] for i in _BLOCKING):
            continue
        system, code = codes[c]
        if system != "ICD-10-CM":
            continue
        if ctx[_FAMILY_FLAG]:
            kind = FAMILY
        elif ctx[_HISTORY_FLAG]:
            kind = PERSONAL
        else:
            continue
        target = history_code(kind, code)
        h = index.get(("ICD-10-CM", target)) if target else None
        if h is None:
            continue
        found.append((h, m.coverage * m.weight, kind, m.start, m.end))
    best: dict[int, tuple[float, int, int, int]] = {}
    for h, strength, kind, start, end in found:
        if any(
            s2 <= start and end <= e2 and (e2 - s2) > (end - start) for _, _, _, s2, e2 in found
        ):
            continue
        if h not in best or strength > best[h][0]:
            best[h] = (strength, kind, start, end)
    return {h: (kind, s, e) for h, (_, kind, s, e) in best.items()}
