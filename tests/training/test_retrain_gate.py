"""The promotion gate: promote only when nothing got worse beyond tolerance and the corrections'
evaluation part improved; otherwise register only, with every reason."""

from __future__ import annotations

from training.gate import BENCHMARK, CORRECTIONS, MAP_TOLERANCE, decide


def _m(map_: float, p: float, n: float = 200.0) -> dict[str, float]:
    return {
        "map": map_,
        "accepted_p": p,
        "accepted_r": 0.5,
        "accepted_n": n,
        "ece": 0.05,
        "gold_n": 100.0,
    }


OLD = {
    BENCHMARK: {"ICD-10-CM": _m(0.80, 0.97), "CPT": _m(0.90, 0.99), "overall": _m(0.82, 0.98)},
    CORRECTIONS: {"ICD-10-CM": _m(0.60, 0.95), "overall": _m(0.60, 0.95)},
}


def _new(**changes: dict[str, float]) -> dict[str, dict[str, dict[str, float]]]:
    new = {k: {s: dict(v) for s, v in systems.items()} for k, systems in OLD.items()}
    new[CORRECTIONS]["overall"]["map"] = 0.70
    new[CORRECTIONS]["ICD-10-CM"]["map"] = 0.70
    for key, value in changes.items():
        set_name, system, metric = key.split("__")
        new[set_name][system][metric] = value  # type: ignore[assignment]
    return new


def test_promotes_when_better_on_corrections_and_not_worse_elsewhere() -> None:
    new = _new(benchmark__CPT__map=0.90 - MAP_TOLERANCE / 2)
    decision = decide(OLD, new)
    assert decision.promote, decision.reasons
    assert decision.reasons == []
    assert all(c["ok"] for c in decision.checks)


def test_map_regression_on_one_system_blocks() -> None:
    decision = decide(OLD, _new(benchmark__CPT__map=0.85))
    assert not decision.promote
    assert len(decision.reasons) == 1
    assert "benchmark/CPT: MAP 0.850" in decision.reasons[0]


def test_accepted_precision_regression_blocks() -> None:
    decision = decide(OLD, _new(**{"benchmark__ICD-10-CM__accepted_p": 0.90}))
    assert not decision.promote
    assert any("accepted-code precision 0.900" in r for r in decision.reasons)


def test_precision_tolerance_is_one_code_on_small_sets() -> None:
    # 10 accepted codes: one more wrong code (0.1) is within tolerance, two are not.
    old = {k: {s: {**m, "accepted_n": 10.0} for s, m in v.items()} for k, v in OLD.items()}
    ok = _new(
        **{"benchmark__ICD-10-CM__accepted_p": 0.88, "benchmark__ICD-10-CM__accepted_n": 10.0}
    )
    assert decide(old, ok).promote
    bad = _new(
        **{"benchmark__ICD-10-CM__accepted_p": 0.77, "benchmark__ICD-10-CM__accepted_n": 10.0}
    )
    decision = decide(old, bad)
    assert not decision.promote
    assert any("more than 0.100 below" in r for r in decision.reasons)


def test_no_accepted_codes_is_not_a_precision_failure() -> None:
    new = _new(**{"benchmark__CPT__accepted_p": 0.0, "benchmark__CPT__accepted_n": 0.0})
    assert decide(OLD, new).promote


def test_no_gain_on_corrections_blocks() -> None:
    new = _new(corrections_eval__overall__map=0.602)
    decision = decide(OLD, new)
    assert not decision.promote
    assert any("not better than the active version's 0.600" in r for r in decision.reasons)


def test_missing_corrections_part_and_several_reasons() -> None:
    new = _new(benchmark__CPT__map=0.5)
    del new[CORRECTIONS]
    old = {k: v for k, v in OLD.items() if k != CORRECTIONS}
    decision = decide(old, new)
    assert not decision.promote
    assert len(decision.reasons) == 2
    assert any("no held-out corrections" in r for r in decision.reasons)
    assert decision.to_dict()["tolerances"]["map"] == MAP_TOLERANCE


def test_system_with_too_few_gold_codes_is_skipped() -> None:
    new = _new(benchmark__CPT__map=0.2, benchmark__CPT__gold_n=5.0)
    decision = decide(OLD, new)
    assert decision.promote, decision.reasons
    assert any(c["ok"] is None and "only 5 gold codes" in c["skipped"] for c in decision.checks)
