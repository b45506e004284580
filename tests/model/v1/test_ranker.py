"""Calibration and the accepted band when the calibration pairs come from several corpora."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from model.v1.features import SYSTEM_IDS
from model.v1.ranker import fit_calibration, wilson_lower

ICD, CPT = SYSTEM_IDS["ICD-10-CM"], SYSTEM_IDS["CPT"]


def _pairs(
    n_high: int, wrong_every: int, n_low: int, system: int, source: str, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`n_high` pairs scored evenly in [lo, hi], every `wrong_every`-th one wrong (0: none), and
    `n_low` wrong pairs scored below 0.3."""
    raw = np.r_[np.linspace(hi, lo, n_high), np.linspace(0.29, 0.0, n_low)]
    high = np.ones(n_high, dtype=np.int8)
    if wrong_every:
        high[wrong_every - 1 :: wrong_every] = 0
    y = np.r_[high, np.zeros(n_low, dtype=np.int8)]
    return raw, y, np.full(len(y), system), np.full(len(y), source)


def _join(*parts: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    return tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))


def _accept(raw: np.ndarray, y: np.ndarray, systems: np.ndarray, sources: np.ndarray | None):
    return fit_calibration(raw, y, systems, 0.95, 20, sources)


def _pooled_and_per_source(*parts: tuple[np.ndarray, ...]) -> tuple[Any, ...]:
    """ICD-10-CM pairs joined from `parts`: (raw, y, sources, calibrated scores, the pooled
    accept threshold, the per-source one, the per-source validation summary)."""
    raw, y, systems, sources = _join(*parts)
    pooled = _accept(raw, y, systems, None)[2]["ICD-10-CM"]
    iso, _, strict, validation = _accept(raw, y, systems, sources)
    cal = iso.predict(raw)
    return raw, y, sources, cal, pooled, strict["ICD-10-CM"], validation["ICD-10-CM"]


def test_a_band_certified_on_pooled_pairs_must_also_hold_on_each_source() -> None:
    # "synthetic": 1,000 right codes above 0.5; "codiesp": 99 codes in the same scores, 2 in 3
    # right. Pooled, the band is 97% right and certified; on CodiEsp's pairs it never is.
    raw, y, systems, sources = _join(
        _pairs(1000, 0, 1000, ICD, "synthetic", 0.5, 1.0),
        _pairs(99, 3, 100, ICD, "codiesp", 0.5, 1.0),
    )
    pooled = _accept(raw, y, systems, None)
    assert pooled[2]["ICD-10-CM"] < 1.0
    assert "sources" not in pooled[3]["ICD-10-CM"]
    per_source = _accept(raw, y, systems, sources)
    assert per_source[2]["ICD-10-CM"] == 1.01
    summary = per_source[3]["ICD-10-CM"]
    assert summary["accept_threshold"] == 1.01 and summary["accepted_pairs"] == 0
    assert summary["sources"]["codiesp"]["accept_threshold"] == 1.01
    assert summary["sources"]["codiesp"]["positives"] == 66
    assert summary["sources"]["synthetic"]["accept_threshold"] < 1.0
    # The F1 threshold and the calibration itself are still fitted on every pair.
    assert per_source[1] == pooled[1]
    np.testing.assert_allclose(per_source[0].predict(raw), pooled[0].predict(raw))


def test_the_strictest_source_sets_the_threshold_and_its_band_holds_there() -> None:
    # CodiEsp's codes are all right above 0.85 and 2 in 3 right below: its band starts higher.
    # Pooled with five times as many synthetic pairs, every calibrated level stays above 0.95.
    raw, y, sources, cal, pooled, strict, summary = _pooled_and_per_source(
        _pairs(5000, 0, 5000, ICD, "synthetic", 0.5, 1.0),
        _pairs(200, 0, 0, ICD, "codiesp", 0.85, 1.0),
        _pairs(200, 3, 200, ICD, "codiesp", 0.5, 0.84),
    )
    assert pooled < strict <= 1.0
    codiesp_band = (sources == "codiesp") & (cal >= strict)
    assert codiesp_band.sum() >= 200 and y[codiesp_band].mean() >= 0.95
    row = summary["sources"]["codiesp"]
    assert row["accepted_pairs"] == codiesp_band.sum()
    assert row["accept_precision"] == pytest.approx(y[codiesp_band].mean())
    band = cal >= strict
    assert summary["accepted_pairs"] == band.sum()
    assert summary["accept_precision"] == pytest.approx(y[band].mean())


def test_each_source_is_held_to_its_own_levels_not_the_pooled_ones() -> None:
    # CodiEsp: 1,000 right codes scored 0.9-1.0, then 100 scored 0.8-0.89 of which 9 in 10 are
    # right. Pooled with 5,000 right synthetic codes, those 100 sit in a level calibrated 0.997,
    # and CodiEsp's band down to it is 0.991 precise: certified on the pooled levels. CodiEsp's
    # own calibration puts them in a level of 0.90, below the target.
    raw, y, sources, cal, pooled, strict, summary = _pooled_and_per_source(
        _pairs(5000, 0, 5000, ICD, "synthetic", 0.5, 1.0),
        _pairs(1000, 0, 0, ICD, "codiesp", 0.9, 1.0),
        _pairs(100, 10, 0, ICD, "codiesp", 0.8, 0.89),
    )
    codiesp = sources == "codiesp"
    weak = codiesp & (raw < 0.895)
    assert weak.sum() == 100 and y[weak].mean() == pytest.approx(0.9)
    # The pooled band takes all 100; CodiEsp's own levels keep them out, but for the few
    # that share the top pooled level with codes above the floor.
    assert (weak & (cal >= pooled)).sum() == 100
    assert pooled < strict
    band = codiesp & (cal >= strict)
    assert (band & weak).sum() < 20 and y[band].mean() >= 0.95 and band.sum() >= 1000
    row = summary["sources"]["codiesp"]
    assert row["accept_threshold"] == strict
    assert row["accepted_pairs"] == band.sum()
    assert summary["sources"]["synthetic"]["accept_threshold"] < row["accept_threshold"]


def test_a_systems_levels_come_from_its_own_pairs_not_the_blocks_it_shares() -> None:
    # One isotonic calibration serves every system, so its levels are cut by the larger one:
    # 300 CPT codes, all right, scored 0.8-1.0 among 5,000 ICD-10-CM codes 85-95% right fall
    # into pooled levels holding at most 43 CPT codes each, too few for any one level's Wilson
    # bound to reach 0.95. On CPT's own calibration they are a single level.
    rng = np.random.default_rng(0)
    raw_icd = rng.uniform(0.5, 1.0, 5000)
    y_icd = (rng.uniform(size=5000) < 0.85 + 0.2 * (raw_icd - 0.5)).astype(np.int8)
    raw = np.r_[raw_icd, rng.uniform(0.8, 1.0, 300), rng.uniform(0.0, 0.3, 300)]
    y = np.r_[y_icd, np.ones(300, np.int8), np.zeros(300, np.int8)]
    systems = np.r_[np.full(5000, ICD), np.full(600, CPT)]
    iso, _, accept, validation = _accept(raw, y, systems, None)
    cal = iso.predict(raw)
    cpt = systems == CPT
    levels = [int((cpt & (cal == v)).sum()) for v in np.unique(cal[cpt]) if v >= 0.95]
    assert max(levels) < 50 and wilson_lower(np.float64(1.0), np.float64(max(levels))) < 0.95
    band = cpt & (cal >= accept["CPT"])
    # Accepted codes still score at least the target themselves.
    assert 0.95 <= accept["CPT"] < 1.0 and band.sum() == sum(levels) and y[band].all()
    assert validation["CPT"]["accepted_pairs"] == band.sum()


def test_a_source_without_enough_positives_of_a_system_does_not_count_for_it() -> None:
    # CodiEsp holds no CPT codes, and only 10 right ICD-10-CM codes (fewer than the 20 a band
    # needs): neither system's band depends on it.
    raw, y, systems, sources = _join(
        _pairs(1000, 0, 1000, ICD, "synthetic", 0.5, 1.0),
        _pairs(500, 0, 500, CPT, "synthetic", 0.5, 1.0),
        _pairs(20, 2, 50, ICD, "codiesp", 0.5, 1.0),
        _pairs(0, 0, 50, CPT, "codiesp", 0.5, 1.0),
    )
    _, _, pooled, _ = _accept(raw, y, systems, None)
    _, _, per_source, validation = _accept(raw, y, systems, sources)
    assert per_source == pooled
    assert set(validation["ICD-10-CM"]["sources"]) == {"synthetic"}
    assert set(validation["CPT"]["sources"]) == {"synthetic"}


def test_one_source_is_the_pooled_band() -> None:
    raw, y, systems, sources = _pairs(300, 0, 300, ICD, "codiesp", 0.5, 1.0)
    pooled = _accept(raw, y, systems, None)
    single = _accept(raw, y, systems, sources)
    assert single[2] == pooled[2] and single[3] == pooled[3]
