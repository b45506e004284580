"""Audit sampling rules on plain cases (no database): bands, allocation, reproducibility."""

from __future__ import annotations

import pytest

from serving.services.audit_sampling import (
    BAND_NAMES,
    Case,
    FinalCode,
    allocate,
    band_of,
    final_codes,
    sample_low_confidence,
    sample_random,
    sample_stratified,
)


def _case(review_id: int, *scores: float) -> Case:
    codes = tuple(
        FinalCode("ICD-10-CM", f"C{review_id}.{i}", "model", s) for i, s in enumerate(scores)
    )
    return Case(f"set-{review_id}", review_id, 1, "coder-a", codes)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0.0, "<0.5"),
        (0.4999, "<0.5"),
        (0.5, "0.5-0.8"),
        (0.7999, "0.5-0.8"),
        (0.8, "0.8-0.95"),
        (0.9499, "0.8-0.95"),
        (0.95, ">=0.95"),
        (1.0, ">=0.95"),
    ],
)
def test_band_edges(score: float, band: str) -> None:
    assert band_of(score) == band


def test_final_code_scores_come_from_the_suggestion_set_and_unsuggested_codes_score_zero() -> None:
    suggested = [
        {"system": "ICD-10-CM", "code": "E11.9", "score": 0.91},
        {"system": "ICD-10-CM", "code": "I10", "score": 0.42},
        {"system": "CPT", "code": "99213", "score": 0.77},
    ]
    review = [
        {"system": "ICD-10-CM", "code": "E11.9", "source": "model"},
        {"system": "CPT", "code": "99214", "source": "replacement"},  # not suggested: 0.0
        {"system": "ICD-10-CM", "code": "I10", "source": "added"},  # suggested: its score
    ]
    codes = final_codes(review, suggested)
    assert [(c.code, c.score, c.source) for c in codes] == [
        ("E11.9", 0.91, "model"),
        ("99214", 0.0, "replacement"),
        ("I10", 0.42, "added"),
    ]
    case = Case("s", 1, 1, "coder", codes)
    assert case.score_min == 0.0
    assert case.score_mean == pytest.approx((0.91 + 0.0 + 0.42) / 3)
    assert case.band == "<0.5"


def test_case_without_final_codes_scores_zero() -> None:
    case = Case("s", 1, 1, "coder", ())
    assert (case.score_min, case.score_mean, case.band) == (0.0, 0.0, "<0.5")


def test_low_confidence_orders_by_min_then_mean_then_review_id() -> None:
    cases = [
        _case(1, 0.9, 0.9),
        _case(2, 0.3, 0.9),  # min 0.3, mean 0.6
        _case(3, 0.3, 0.4),  # min 0.3, mean 0.35 -> before 2
        _case(4, 0.6),
        _case(5, 0.3, 0.4),  # ties with 3 -> after 3 by review id
    ]
    picked = sample_low_confidence(cases, 4)
    assert [c.review_id for c in picked] == [3, 5, 2, 4]
    assert [c.review_id for c in sample_low_confidence(cases, 99)] == [3, 5, 2, 4, 1]


def test_random_sample_is_reproducible_and_independent_of_input_order() -> None:
    cases = [_case(i, i / 100) for i in range(1, 60)]
    first = [c.review_id for c in sample_random(cases, 10, seed=42)]
    again = [c.review_id for c in sample_random(list(reversed(cases)), 10, seed=42)]
    other = [c.review_id for c in sample_random(cases, 10, seed=43)]
    assert first == again
    assert first != other
    assert len(set(first)) == 10
    assert len(sample_random(cases[:3], 10, seed=1)) == 3


@pytest.mark.parametrize(
    ("populations", "n", "expected"),
    [
        ([10, 10, 10, 10], 8, [2, 2, 2, 2]),
        ([10, 10, 10, 10], 6, [2, 2, 1, 1]),  # remainder to the lowest bands
        ([1, 10, 0, 10], 9, [1, 4, 0, 4]),  # band 0 is short: its share moves on
        ([1, 2, 0, 3], 50, [1, 2, 0, 3]),  # more wanted than exist: everything
        ([0, 0, 0, 0], 5, [0, 0, 0, 0]),
        ([5, 5, 5, 5], 0, [0, 0, 0, 0]),
    ],
)
def test_allocate_spreads_evenly_within_populations(
    populations: list[int], n: int, expected: list[int]
) -> None:
    assert allocate(populations, n) == expected


def test_stratified_draws_per_band_and_reports_sizes() -> None:
    cases = (
        [_case(i, 0.2) for i in range(1, 11)]  # 10 in <0.5
        + [_case(i, 0.6) for i in range(11, 14)]  # 3 in 0.5-0.8
        + [_case(i, 0.97) for i in range(14, 34)]  # 20 in >=0.95
    )
    chosen, report = sample_stratified(cases, 9, seed=7)
    assert report == [("<0.5", 10, 3), ("0.5-0.8", 3, 3), ("0.8-0.95", 0, 0), (">=0.95", 20, 3)]
    assert [name for name, _, _ in report] == list(BAND_NAMES)
    by_band: dict[str, int] = {}
    for case in chosen:
        by_band[case.band] = by_band.get(case.band, 0) + 1
    assert by_band == {"<0.5": 3, "0.5-0.8": 3, ">=0.95": 3}
    again, _ = sample_stratified(list(reversed(cases)), 9, seed=7)
    assert [c.review_id for c in again] == [c.review_id for c in chosen]
