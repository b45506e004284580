"""QA audit over the database: sampling reviewed cases, verdicts, agreement statistics.

The sampling rules (case confidence, bands, strategies) live in `audit_sampling`. Statistics use
each case's latest verdict. Code-level agreement counts code verdicts; a case agrees when every
code verdict is `agree` and no corrected codes were given.
"""

from __future__ import annotations

import secrets
import threading
from collections import defaultdict

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
from serving.services.audit_sampling import (
    BAND_NAMES,
    MAX_SAMPLE,
    STRATEGIES,
    Case,
    final_codes,
    sample_low_confidence,
    sample_random,
    sample_stratified,
)

__all__ = ["MAX_SAMPLE", "STRATEGIES", "add_verdict", "get_case", "sample", "stats"]


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
