"""Output rules shared by every suggestion model: the top codes per system, and which of them
are marked `accepted` (score at the system's accept threshold, no close sibling in its ICD-10-CM
category, never both codes of an Excludes1 pair: the lower-scored one loses)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

Code = tuple[str, str]


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
    best_sibling: dict[Code, float] = {}
    by_category: dict[str, list[tuple[Code, float]]] = {}
    for c, s in chosen:
        if c[0] == "ICD-10-CM":
            by_category.setdefault(c[1][:3], []).append((c, s))
    for members in by_category.values():
        for c, _ in members:
            best_sibling[c] = max((s for d, s in members if d != c), default=0.0)
    best_near: dict[Code, float] = {}
    for c, _ in chosen:
        if c[0] == "ICD-10-CM":
            best_near[c] = max(
                (s for k, m in by_category.items() if k[:2] == c[1][:2] and k != c[1][:3]
                 for _, s in m),
                default=0.0,
            )  # fmt: skip
    acc = [
        (c, s)
        for c, s in chosen
        if c in vouched
        or (
            s >= accept_thresholds.get(c[0], 1.01)
            and best_sibling.get(c, 0.0) < contested
            and best_near.get(c, 0.0) < contested_near
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
