"""Output rules shared by every suggestion model: the top codes per system, and which of them
are marked `accepted` (score at the system's accept threshold, no close sibling in its ICD-10-CM
category, never both codes of an Excludes1 pair: the lower-scored one loses)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

Code = tuple[str, str]


def score_order(scores: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Indices best first: by calibrated score, ties broken by the raw score it was calibrated
    from. Isotonic calibration is a step function, so many candidates share a calibrated score;
    ordering a tie by position threw away the ranker's own order among them (on CodiEsp dev,
    v2's exact-code MAP 0.500 against 0.503 ranked by its raw scores)."""
    return np.lexsort((-np.asarray(raw, dtype=np.float64), -np.asarray(scores, dtype=np.float64)))


def top_per_system(
    ranked: Iterable[tuple[Code, float]], top_k: int, systems: Iterable[str] | None = None
) -> list[tuple[Code, float]]:
    """The first `top_k` codes of each system from `ranked` (best first), optionally only the
    given systems; order is kept."""
    wanted = set(systems) if systems else None
    counts: dict[str, int] = {}
    out: list[tuple[Code, float]] = []
    for code, score in ranked:
        system = code[0]
        if wanted is not None and system not in wanted:
            continue
        if counts.get(system, 0) >= top_k:
            continue
        counts[system] = counts.get(system, 0) + 1
        out.append((code, score))
    return out


def accepted_codes(
    chosen: Sequence[tuple[Code, float]],
    accept_thresholds: Mapping[str, float],
    vouched: Collection[Code] = (),
    contested: float = 1.01,
    contested_near: float = 1.01,
) -> set[Code]:
    """Codes at or above their system's accept threshold (1.01, nothing, when unknown) with no
    ICD-10-CM sibling in `chosen` (same category: its first three characters) scoring
    `contested` or more (a model's fitted `contested_`; the default 1.01 never withholds), and
    none of a neighbouring category (same first two characters: E10/E11, I48/I49) scoring
    `contested_near` or more, and any of `vouched` (codes a certified model accepted), minus the
    lower-scored code of every ICD-10-CM Excludes1 pair."""
    scores = np.array([s for _, s in chosen], dtype=np.float64)
    is_icd = np.array([c[0] == "ICD-10-CM" for c, _ in chosen], dtype=bool)
    category = prefix_ids([c[1] for c, _ in chosen], 3)
    near = prefix_ids([c[1] for c, _ in chosen], 2)
    one_note = np.zeros(len(chosen), dtype=np.int64)
    sibling = best_sibling_scores(scores, one_note, category, is_icd)
    neighbour = best_sibling_scores(scores, one_note, near, is_icd, exclude=category)
    acc = [
        (c, s)
        for j, (c, s) in enumerate(chosen)
        if c in vouched
        or (
            s >= accept_thresholds.get(c[0], 1.01)
            and sibling[j] < contested
            and neighbour[j] < contested_near
        )
    ]
    if len(acc) < 2:
        return {c for c, _ in acc}
    from model.codesets import get_catalog

    catalog = get_catalog()
    keep: list[Code] = []
    for c, _ in sorted(acc, key=lambda x: -x[1]):
        if c[0] == "ICD-10-CM" and any(
            k[0] == "ICD-10-CM" and catalog.excludes1_conflict(c[1], k[1]) for k in keep
        ):
            continue
        keep.append(c)
    return set(keep)


def prefix_ids(codes: Iterable[str], length: int) -> np.ndarray:
    """One integer id per distinct first `length` characters of the codes, in order of first
    appearance: the category (3) or neighbourhood (2) groups of the contested rules."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(c[:length], len(ids)) for c in codes], dtype=np.int64)


def best_sibling_scores(
    scores: np.ndarray,
    notes: np.ndarray,
    categories: np.ndarray,
    is_icd: np.ndarray,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """For each ICD-10-CM pair, the highest score of another pair of the same note and group
    (`categories`), leaving out pairs that share its `exclude` id when given (0 where there is
    none, and for other systems). `accepted_codes` serves the contested rules with it and
    `model.v1.ranker.fit_contested` fits their levels with it."""
    out = np.zeros(len(scores))
    groups: dict[tuple[int, int], list[int]] = {}
    for i in np.nonzero(is_icd)[0]:
        groups.setdefault((int(notes[i]), int(categories[i])), []).append(int(i))
    for rows in groups.values():
        if len(rows) < 2:
            continue
        vals = scores[rows]
        # without `exclude` every other pair of the group is a rival
        ids = exclude[rows] if exclude is not None else np.arange(len(rows))
        for j, i in enumerate(rows):
            others = vals[ids != ids[j]]
            out[i] = float(others.max()) if others.size else 0.0
    return out
