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
    # On 10 codes a drop from 0.97 to 0.77 is within sampling noise (1.645 standard errors of
    # the difference: 0.236); 0.60 is not.
    noisy = _new(
        **{"benchmark__ICD-10-CM__accepted_p": 0.77, "benchmark__ICD-10-CM__accepted_n": 10.0}
    )
    assert decide(old, noisy).promote
    bad = _new(
        **{"benchmark__ICD-10-CM__accepted_p": 0.60, "benchmark__ICD-10-CM__accepted_n": 10.0}
    )
    decision = decide(old, bad)
    assert not decision.promote
    assert any("more than 0.270 below" in r for r in decision.reasons)


def test_precision_tolerance_tightens_with_many_accepted_codes() -> None:
    old = {k: {s: {**m, "accepted_n": 2000.0} for s, m in v.items()} for k, v in OLD.items()}
    bad = _new(
        **{"benchmark__ICD-10-CM__accepted_p": 0.95, "benchmark__ICD-10-CM__accepted_n": 2000.0}
    )
    decision = decide(old, bad)
    assert not decision.promote  # 0.02 lower on 2,000 codes each: tolerance is 0.010
    assert any("more than 0.010 below" in r for r in decision.reasons)


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


def test_benchmark_does_not_judge_codes_its_gold_never_assigns() -> None:
    from training.retrain import drop_unjudged

    preds = [
        {
            "id": "n1",
            "codes": [
                {"system": "ICD-10-CM", "code": "Z79.899", "rank": 1, "score": 0.9},
                {"system": "ICD-10-CM", "code": "E11.9", "rank": 2, "score": 0.8},
                {"system": "CPT", "code": "99214", "rank": 3, "score": 0.7},
            ],
        }
    ]
    out = drop_unjudged(preds, {("ICD-10-CM", "Z79.899")})
    assert [(c["code"], c["rank"]) for c in out[0]["codes"]] == [("E11.9", 1), ("99214", 2)]
    assert len(preds[0]["codes"]) == 3  # the input is not modified
    assert drop_unjudged(preds, set()) is preds


def test_pooled_precision_drop_from_a_new_mix_of_systems_does_not_block() -> None:
    # Each system holds its precision; the pool drops only because more CPT codes are accepted.
    decision = decide(OLD, _new(benchmark__overall__accepted_p=0.90))
    assert decision.promote, decision.reasons


def test_map_tolerance_widens_with_the_paired_standard_error() -> None:
    # 0.016 lower: a regression against the fixed 0.01 tolerance, noise when the paired
    # per-note differences have a standard error of 0.012 (1.645 x 0.012 = 0.020).
    assert not decide(OLD, _new(benchmark__CPT__map=0.884)).promote
    assert decide(OLD, _new(benchmark__CPT__map=0.884, benchmark__CPT__map_se=0.012)).promote
    assert not decide(OLD, _new(benchmark__CPT__map=0.87, benchmark__CPT__map_se=0.012)).promote


def test_paired_standard_error_of_the_map_difference() -> None:
    from training.retrain import add_map_noise

    new = {BENCHMARK: {"CPT": {"map": 0.5}, "HCPCS": {"map": 0.1}}}
    old_ap = {BENCHMARK: {"CPT": [0.5, 0.6, None, 0.7], "HCPCS": [None]}}
    new_ap = {BENCHMARK: {"CPT": [0.6, 0.6, 0.9, 0.5], "HCPCS": [0.2]}}
    add_map_noise(new, old_ap, new_ap)
    # differences 0.1, 0.0, -0.2 (the note without gold is left out): sd 0.1528, se 0.0882
    assert abs(new[BENCHMARK]["CPT"]["map_se"] - 0.0882) < 1e-3
    assert "map_se" not in new[BENCHMARK]["HCPCS"]  # one note: no estimate
