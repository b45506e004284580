"""QA audit: reproducible samples of reviewed cases, verdicts, and agreement statistics.

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
- Statistics use each case's latest verdict. Code-level agreement counts code verdicts; a case
  agrees when every code verdict is `agree` and no corrected codes were given.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from serving.db.models import (
    AuditCaseRow,
    AuditVerdictRow,
    ReviewRow,
    SuggestionSetRow,
    utcnow,
)
from serving.errors import InvalidInput, NotFound
from serving.schemas.audit import (
    AuditCasePublic,
    AuditCodePublic,
    AuditSamplePublic,
    AuditStatsPublic,
    BandCountPublic,
    GroupStatsPublic,
    RatePublic,
    VerdictCodePublic,
    VerdictCreate,
    VerdictPublic,
)
from serving.schemas.common import CodeRef
from serving.services import catalog

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


def _case(review: ReviewRow, sset: SuggestionSetRow) -> Case:
    return Case(
        suggestion_set_id=review.suggestion_set_id,
        review_id=review.id,
        revision=review.revision,
        reviewer=review.created_by,
        codes=final_codes(review.final_codes_json or [], sset.codes_json or []),
    )


def eligible_cases(session: Session) -> list[Case]:
    """Latest review revision of every reviewed set whose revision is not audited yet."""
    latest = (
        select(ReviewRow.suggestion_set_id, func.max(ReviewRow.revision).label("revision"))
        .group_by(ReviewRow.suggestion_set_id)
        .subquery()
    )
    audited = select(AuditCaseRow.review_id)
    stmt = (
        select(ReviewRow, SuggestionSetRow)
        .join(
            latest,
            (latest.c.suggestion_set_id == ReviewRow.suggestion_set_id)
            & (latest.c.revision == ReviewRow.revision),
        )
        .join(SuggestionSetRow, SuggestionSetRow.id == ReviewRow.suggestion_set_id)
        .where(ReviewRow.id.not_in(audited))
        .order_by(ReviewRow.id)
    )
    return [_case(review, sset) for review, sset in session.execute(stmt)]


# ---------------------------------------------------------------------- sampling (pure)
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


# ---------------------------------------------------------------------- API operations
def _verdict_public(row: AuditVerdictRow) -> VerdictPublic:
    codes = [VerdictCodePublic(**v) for v in row.verdicts_json or []]
    corrected = [CodeRef(**c) for c in row.corrected_codes_json or []]
    return VerdictPublic(
        id=row.id,
        audit_case_id=row.audit_case_id,
        agree=_case_agrees(row),
        codes=codes,
        corrected_codes=corrected,
        comment=row.comment,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _case_agrees(row: AuditVerdictRow) -> bool:
    return all(v.get("verdict") == "agree" for v in row.verdicts_json or []) and not (
        row.corrected_codes_json
    )


def _case_public(row: AuditCaseRow, case: Case, verdicts: list[AuditVerdictRow]) -> AuditCasePublic:
    return AuditCasePublic(
        id=row.id,
        suggestion_set_id=row.suggestion_set_id,
        review_id=row.review_id,
        revision=case.revision,
        reviewer=case.reviewer,
        strategy=row.strategy,  # type: ignore[arg-type]  # checked on write
        seed=row.seed,
        band=case.band,
        score_min=round(case.score_min, 6),
        score_mean=round(case.score_mean, 6),
        final_codes=[
            AuditCodePublic(system=c.system, code=c.code, source=c.source, score=c.score)
            for c in case.codes
        ],
        created_by=row.created_by,
        created_at=row.created_at,
        verdicts=[_verdict_public(v) for v in verdicts],
    )


#: Arbitrary constant naming the PostgreSQL advisory lock that serialises sampling.
_SAMPLING_LOCK_KEY = 0x63686172  # "char"
#: Serialises sampling within one process (SQLite's embedded deployments are one process).
_SAMPLING_MUTEX = threading.Lock()


def _serialise_sampling(session: Session) -> None:
    """Make concurrent samplers take turns, so two auditors never draw the same case.

    Within a process `_SAMPLING_MUTEX` does it; across processes on PostgreSQL a
    transaction-scoped advisory lock (released at commit/rollback) does. Several processes on
    one SQLite file are not covered (the embedded default runs one process).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_SAMPLING_LOCK_KEY)))


def sample(
    session: Session, *, n: int, strategy: str, seed: int | None, actor: str, dry_run: bool = False
) -> AuditSamplePublic:
    """Draw `n` eligible cases and record them as audit cases (unless `dry_run`)."""
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown strategy {strategy!r}; allowed: {', '.join(STRATEGIES)}",
            code="unknown_strategy",
            field="strategy",
        )
    if not 1 <= n <= MAX_SAMPLE:
        raise InvalidInput(f"n must be between 1 and {MAX_SAMPLE}", field="n")
    if seed is None:
        seed = secrets.randbelow(2**31)
    if dry_run:
        return _draw(session, n=n, strategy=strategy, seed=seed, actor=actor, record=False)
    with _SAMPLING_MUTEX:  # draw, record and commit as one step: no case is drawn twice
        _serialise_sampling(session)
        result = _draw(session, n=n, strategy=strategy, seed=seed, actor=actor, record=True)
        session.commit()
    return result


def _draw(
    session: Session, *, n: int, strategy: str, seed: int, actor: str, record: bool
) -> AuditSamplePublic:
    cases = eligible_cases(session)
    populations = {name: 0 for name in BAND_NAMES}
    for case in cases:
        populations[case.band] += 1
    if strategy == "low_confidence":
        chosen = sample_low_confidence(cases, n)
    elif strategy == "random":
        chosen = sample_random(cases, n, seed)
    else:
        chosen, _ = sample_stratified(cases, n, seed)
    sampled = {name: 0 for name in BAND_NAMES}
    for case in chosen:
        sampled[case.band] += 1
    out = []
    for case in chosen:
        row = AuditCaseRow(
            suggestion_set_id=case.suggestion_set_id,
            review_id=case.review_id,
            strategy=strategy,
            band=case.band,
            seed=seed,
            created_by=actor,
        )
        if record:
            session.add(row)
            session.flush()
        else:  # a preview: same draw, nothing written
            row.id, row.created_at = 0, utcnow()
        out.append((row, case))
    return AuditSamplePublic(
        strategy=strategy,  # type: ignore[arg-type]  # checked above
        seed=seed,
        requested=n,
        population=len(cases),
        bands=[
            BandCountPublic(band=name, population=populations[name], sampled=sampled[name])
            for name in BAND_NAMES
        ],
        cases=[_case_public(row, case, []) for row, case in out],
    )


def _load_case(session: Session, case_id: int) -> tuple[AuditCaseRow, Case]:
    row = session.get(AuditCaseRow, case_id)
    if row is None:
        raise NotFound(f"audit case {case_id} does not exist", code="audit_case_not_found")
    review = session.get(ReviewRow, row.review_id)
    sset = session.get(SuggestionSetRow, row.suggestion_set_id)
    if review is None or sset is None:  # foreign keys make this unreachable on a sound database
        raise NotFound(f"audit case {case_id} points at a missing review", code="audit_case_broken")
    return row, _case(review, sset)


def _verdicts(session: Session, case_id: int) -> list[AuditVerdictRow]:
    stmt = (
        select(AuditVerdictRow)
        .where(AuditVerdictRow.audit_case_id == case_id)
        .order_by(AuditVerdictRow.id)
    )
    return list(session.scalars(stmt))


def get_case(session: Session, case_id: int) -> AuditCasePublic:
    row, case = _load_case(session, case_id)
    return _case_public(row, case, _verdicts(session, case_id))


def _check_verdict(body: VerdictCreate, case: Case) -> None:
    problems: list[dict[str, str]] = []
    final = {(c.system, c.code) for c in case.codes}
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(body.codes):
        key = (item.system, item.code)
        where = f"codes[{i}]"
        if key in seen:
            problems.append({"field": where, "message": f"{item.system} {item.code} is repeated"})
        elif key not in final:
            problems.append(
                {
                    "field": where,
                    "message": f"{item.system} {item.code} is not a final code of this case",
                }
            )
        seen.add(key)
    for system, code in sorted(final - seen):
        problems.append({"field": "codes", "message": f"no verdict for {system} {code}"})
    corrected: set[tuple[str, str]] = set()
    for i, ref in enumerate(body.corrected_codes):
        where = f"corrected_codes[{i}]"
        info = catalog.lookup(ref.system, ref.code)
        if info is None:
            message = f"{ref.system} {ref.code} is not in the code catalog"
        elif info.billable is False:
            message = f"{ref.system} {ref.code} is a header, not a billable code"
        elif (ref.system, info.code) in corrected:
            message = f"{ref.system} {ref.code} is repeated"
        else:
            corrected.add((ref.system, info.code))
            continue
        problems.append({"field": where, "message": message})
    if problems:
        raise InvalidInput(
            "; ".join(f"{p['field']}: {p['message']}" for p in problems),
            code="invalid_verdict",
            field=problems[0]["field"],
            details=problems,
        )


def add_verdict(
    session: Session, case_id: int, body: VerdictCreate, *, actor: str
) -> VerdictPublic:
    """Record a verdict (a second verdict on a case is a new row; history is kept)."""
    _, case = _load_case(session, case_id)
    _check_verdict(body, case)
    row = AuditVerdictRow(
        audit_case_id=case_id,
        verdicts_json=[v.model_dump() for v in body.codes],
        corrected_codes_json=[c.model_dump() for c in body.corrected_codes],
        comment=body.comment,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return _verdict_public(row)


# ---------------------------------------------------------------------- statistics
class _Tally:
    __slots__ = ("case_n", "case_agreed", "code_n", "code_agreed")

    def __init__(self) -> None:
        self.case_n = self.case_agreed = self.code_n = self.code_agreed = 0

    def rates(self, key: str, *, cases: bool = True) -> GroupStatsPublic:
        return GroupStatsPublic(
            key=key,
            cases=_rate(self.case_n, self.case_agreed) if cases else None,
            codes=_rate(self.code_n, self.code_agreed),
        )


def _rate(n: int, agreed: int) -> RatePublic:
    return RatePublic(n=n, agreed=agreed, rate=round(agreed / n, 6) if n else None)


def stats(session: Session) -> AuditStatsPublic:
    """Agreement overall, per coder, per code system and per confidence band."""
    latest_ids = select(func.max(AuditVerdictRow.id)).group_by(AuditVerdictRow.audit_case_id)
    stmt = (
        select(AuditVerdictRow, AuditCaseRow, ReviewRow)
        .join(AuditCaseRow, AuditCaseRow.id == AuditVerdictRow.audit_case_id)
        .join(ReviewRow, ReviewRow.id == AuditCaseRow.review_id)
        .where(AuditVerdictRow.id.in_(latest_ids))
    )
    overall = _Tally()
    coders: dict[str, _Tally] = defaultdict(_Tally)
    systems: dict[str, _Tally] = defaultdict(_Tally)
    bands: dict[str, _Tally] = {name: _Tally() for name in BAND_NAMES}
    counted = 0
    for verdict, case, review in session.execute(stmt):
        counted += 1
        agrees = _case_agrees(verdict)
        band = case.band if case.band in bands else BAND_NAMES[0]
        for tally in (overall, coders[review.created_by], bands[band]):
            tally.case_n += 1
            tally.case_agreed += agrees
        for item in verdict.verdicts_json or []:
            ok = item.get("verdict") == "agree"
            for tally in (overall, coders[review.created_by], bands[band], systems[item["system"]]):
                tally.code_n += 1
                tally.code_agreed += ok
    sampled = session.scalar(select(func.count()).select_from(AuditCaseRow)) or 0
    return AuditStatsPublic(
        cases_sampled=sampled,
        cases_with_verdict=counted,
        overall=overall.rates("overall"),
        by_coder=[coders[k].rates(k) for k in sorted(coders)],
        by_system=[systems[k].rates(k, cases=False) for k in sorted(systems)],
        by_band=[bands[k].rates(k) for k in BAND_NAMES],
    )
