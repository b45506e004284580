"""Audit sampling rules, with no database: case confidence, bands and the three strategies.

Definitions (the API documents them too):

- A *case* is a suggestion set's latest review revision. It is eligible for sampling unless that
  revision already has an audit case (a later re-review makes the set eligible again).
- A final code's *score* is the model's score for that exact (system, code) in the suggestion
  set; a code the model never suggested (added by the coder, or replaced in) scores 0.0: the
  model had no confidence in it. A case with no final codes scores 0.0.
- A case's confidence is its lowest final-code score (`score_min`), ties broken by the mean
  score and then by review id. Bands: `<0.5`, `0.5-0.8`, `0.8-0.95`, `>=0.95` by `score_min`.
- `low_confidence`: the `n` cases with the lowest `score_min` (then `score_mean`, review id).
  `random`: a seeded uniform sample. `stratified`: `n` split as evenly as possible over the
  non-empty bands (what a band cannot fill goes to the others, lowest band first), then a seeded
  sample within each band. Candidates are ordered by review id before any draw, so the same seed
  on the same data gives the same sample.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

STRATEGIES: tuple[str, ...] = ("low_confidence", "random", "stratified")
#: (name, lower bound inclusive); a band runs up to the next band's lower bound.
BANDS: tuple[tuple[str, float], ...] = (
    ("<0.5", float("-inf")),
    ("0.5-0.8", 0.5),
    ("0.8-0.95", 0.8),
    (">=0.95", 0.95),
)
BAND_NAMES: tuple[str, ...] = tuple(name for name, _ in BANDS)
MAX_SAMPLE = 1000


def band_of(score: float) -> str:
    name = BANDS[0][0]
    for band, lower in BANDS:
        if score >= lower:
            name = band
    return name


@dataclass(frozen=True, slots=True)
class FinalCode:
    system: str
    code: str
    source: str
    score: float


@dataclass(frozen=True, slots=True)
class Case:
    suggestion_set_id: str
    review_id: int
    revision: int
    reviewer: str
    codes: tuple[FinalCode, ...]

    @property
    def score_min(self) -> float:
        return min((c.score for c in self.codes), default=0.0)

    @property
    def score_mean(self) -> float:
        return sum(c.score for c in self.codes) / len(self.codes) if self.codes else 0.0

    @property
    def band(self) -> str:
        return band_of(self.score_min)


def final_codes(review_codes: Iterable[Any], suggested: Iterable[Any]) -> tuple[FinalCode, ...]:
    """The review's final codes, each with the model's score for that exact code (else 0.0)."""
    scores: dict[tuple[str, str], float] = {}
    for item in suggested:
        if isinstance(item, dict) and item.get("score") is not None:
            scores[(str(item.get("system")), str(item.get("code")))] = float(item["score"])
    out = []
    for item in review_codes:
        if not isinstance(item, dict):
            continue
        key = (str(item.get("system")), str(item.get("code")))
        out.append(
            FinalCode(key[0], key[1], str(item.get("source", "model")), scores.get(key, 0.0))
        )
    return tuple(out)


def sample_low_confidence(cases: Sequence[Case], n: int) -> list[Case]:
    ranked = sorted(cases, key=lambda c: (c.score_min, c.score_mean, c.review_id))
    return ranked[:n]


def sample_random(cases: Sequence[Case], n: int, seed: int) -> list[Case]:
    ordered = sorted(cases, key=lambda c: c.review_id)
    return random.Random(seed).sample(ordered, min(n, len(ordered)))


def allocate(populations: Sequence[int], n: int) -> list[int]:
    """Split `n` as evenly as possible over bands, capped by each band's population."""
    sizes = [0] * len(populations)
    remaining = min(n, sum(populations))
    while remaining > 0:
        open_bands = [i for i, p in enumerate(populations) if sizes[i] < p]
        share, extra = divmod(remaining, len(open_bands))
        for rank, i in enumerate(open_bands):
            give = min(share + (1 if rank < extra else 0), populations[i] - sizes[i])
            sizes[i] += give
            remaining -= give
    return sizes


def sample_stratified(
    cases: Sequence[Case], n: int, seed: int
) -> tuple[list[Case], list[tuple[str, int, int]]]:
    """A seeded sample balanced over confidence bands, with `(band, population, sampled)`."""
    by_band: dict[str, list[Case]] = {name: [] for name in BAND_NAMES}
    for case in sorted(cases, key=lambda c: c.review_id):
        by_band[case.band].append(case)
    sizes = allocate([len(by_band[name]) for name in BAND_NAMES], n)
    rng = random.Random(seed)
    chosen: list[Case] = []
    report = []
    for name, size in zip(BAND_NAMES, sizes, strict=True):
        chosen.extend(rng.sample(by_band[name], size))
        report.append((name, len(by_band[name]), size))
    return chosen, report
