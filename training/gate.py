"""The promotion gate: may a retrained version replace the active one?

Both versions are scored on the same notes: the standard benchmark (a fixed synthetic test subset)
and the frozen evaluation part of the corrections (never trained on). The new version is promoted
only if

1. on every evaluation set and every code system scored there, its MAP is not lower than the
   active version's by more than `MAP_TOLERANCE` (0.01) or `MAP_Z` (1.645) standard errors of
   the paired per-note difference (`map_se`, when the retrain measured it on the same notes),
   whichever is larger, and the precision of its `accepted`
   codes is not lower by more than `ACCEPTED_P_TOLERANCE` (0.01), one accepted code's worth
   (`1 / n` for the smaller of the two versions' `n` accepted codes), or the sampling noise of
   the difference of the two precisions (`PRECISION_Z` = 1.645 standard errors, a one-sided 95%
   bound), whichever is largest: on a small evaluation set one extra wrong code is noise, not a
   regression (150 accepted codes at precision 0.85 carry a standard error of 0.03 each).
   Precision is compared per code system, not on the pooled "overall" figure (which moves with
   the mix of systems), and only where the new version accepted at least one code (no accepted
   codes cannot be wrong; the lost automation is visible in the report's recall column);
   A system with fewer than `MIN_GOLD_CODES` (50) gold codes in a set is not compared there (too
   few to tell a regression from noise: with 25 gold codes one code moving a few ranks changes
   MAP by 0.04); the check is listed as skipped;
2. on the corrections' evaluation part, its overall MAP is higher than the active version's by
   at least `MIN_GAIN` (0.005).

Otherwise it is registered but not activated, and every failed check is given as a reason.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAP_TOLERANCE = 0.01
MAP_Z = 1.645
ACCEPTED_P_TOLERANCE = 0.01
PRECISION_Z = 1.645
MIN_GAIN = 0.005
MIN_GOLD_CODES = 50
BENCHMARK = "benchmark"
CORRECTIONS = "corrections_eval"


@dataclass(frozen=True, slots=True)
class GateDecision:
    promote: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "reasons": list(self.reasons),
            "checks": list(self.checks),
            "tolerances": {
                "map": MAP_TOLERANCE,
                "map_z": MAP_Z,
                "accepted_precision": ACCEPTED_P_TOLERANCE,
                "accepted_precision_z": PRECISION_Z,
                "min_gain_corrections_map": MIN_GAIN,
                "min_gold_codes": MIN_GOLD_CODES,
            },
        }


def headline(report: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per system: MAP, accepted precision/recall and how many codes were accepted."""
    out: dict[str, dict[str, float]] = {}
    gold = dict(report.get("gold_codes") or {})
    for system, m in report["by_system"].items():
        acc = m["accepted"]
        out[system] = {
            "gold_n": float(gold.get(system, sum(gold.values()))),
            "map": float(m["ranking"]["map"]),
            "accepted_p": float(acc["micro_p"]),
            "accepted_r": float(acc["micro_r"]),
            "accepted_n": float(acc["tp"] + acc["fp"]),
            "ece": float(m["calibration"]["ece"]),
        }
    return out


def decide(
    old: Mapping[str, Mapping[str, Mapping[str, float]]],
    new: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    map_tolerance: float = MAP_TOLERANCE,
    precision_tolerance: float = ACCEPTED_P_TOLERANCE,
    min_gain: float = MIN_GAIN,
) -> GateDecision:
    """`old`/`new`: `{evaluation set: headline(report)}` for the active and the new version."""
    reasons: list[str] = []
    checks: list[dict[str, Any]] = []

    def check(name: str, ok: bool, old_v: float, new_v: float, reason: str) -> None:
        checks.append({"check": name, "ok": ok, "old": old_v, "new": new_v})
        if not ok:
            reasons.append(reason)

    for set_name in sorted(set(old) | set(new)):
        if set_name not in old or set_name not in new:
            reasons.append(f"{set_name}: not evaluated for both versions")
            continue
        for system in sorted(set(old[set_name]) | set(new[set_name])):
            o = old[set_name].get(system)
            n = new[set_name].get(system)
            if o is None or n is None:
                reasons.append(f"{set_name}/{system}: not scored for both versions")
                continue
            if n.get("gold_n", MIN_GOLD_CODES) < MIN_GOLD_CODES:
                checks.append(
                    {
                        "check": f"{set_name}/{system}",
                        "ok": None,
                        "skipped": (f"only {int(n['gold_n'])} gold codes (< {MIN_GOLD_CODES})"),
                    }
                )
                continue
            map_tol = max(map_tolerance, MAP_Z * n.get("map_se", 0.0))
            check(
                f"{set_name}/{system}/map",
                n["map"] >= o["map"] - map_tol,
                o["map"],
                n["map"],
                f"{set_name}/{system}: MAP {n['map']:.3f} is more than {map_tol:.3f} below "
                f"the active version's {o['map']:.3f}",
            )
            n_acc = n.get("accepted_n", 1.0)
            # Precision is judged per code system: the pooled "overall" figure moves with the
            # mix of systems (accepting more CPT codes at 0.83 lowers a 0.94 pool even when no
            # system got worse).
            if n_acc > 0 and system != "overall":
                o_acc = o.get("accepted_n", n_acc) or n_acc
                smallest = max(1.0, min(n_acc, o_acc))
                noise = PRECISION_Z * math.sqrt(
                    o["accepted_p"] * (1 - o["accepted_p"]) / max(1.0, o_acc)
                    + n["accepted_p"] * (1 - n["accepted_p"]) / max(1.0, n_acc)
                )
                tol = max(precision_tolerance, 1.0 / smallest, noise)
                check(
                    f"{set_name}/{system}/accepted_precision",
                    n["accepted_p"] >= o["accepted_p"] - tol,
                    o["accepted_p"],
                    n["accepted_p"],
                    f"{set_name}/{system}: accepted-code precision {n['accepted_p']:.3f} is more "
                    f"than {tol:.3f} below the active version's {o['accepted_p']:.3f}",
                )
    o_corr = old.get(CORRECTIONS, {}).get("overall")
    n_corr = new.get(CORRECTIONS, {}).get("overall")
    if o_corr is None or n_corr is None:
        reasons.append(
            f"{CORRECTIONS}: no held-out corrections to show an improvement on "
            "(review more cases, or lower the evaluation share)"
        )
    else:
        check(
            f"{CORRECTIONS}/overall/map_gain",
            n_corr["map"] >= o_corr["map"] + min_gain,
            o_corr["map"],
            n_corr["map"],
            f"{CORRECTIONS}: MAP {n_corr['map']:.3f} is not better than the active version's "
            f"{o_corr['map']:.3f} by at least {min_gain}",
        )
    return GateDecision(promote=not reasons, reasons=reasons, checks=checks)
