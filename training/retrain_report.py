"""The markdown report of one retrain: data counts, old vs new per system, gate decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_COLS = (("MAP", "map"), ("acc-P", "accepted_p"), ("acc-R", "accepted_r"), ("ECE", "ece"))


def _table(old: Mapping[str, Mapping[str, float]], new: Mapping[str, Mapping[str, float]]) -> str:
    head = "| system | " + " | ".join(f"{c} old | {c} new" for c, _ in _COLS) + " |"
    sep = "|---" * (1 + 2 * len(_COLS)) + "|"
    rows = [head, sep]
    for system in new:
        o = old.get(system, {})
        n = new[system]
        cells = []
        for _, key in _COLS:
            ov = o.get(key)
            cells.append("-" if ov is None else f"{ov:.3f}")
            cells.append(f"{n[key]:.3f}")
        rows.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_report(
    *,
    version: str,
    lineage: Mapping[str, Any],
    old_version: str,
    old: Mapping[str, Mapping[str, Mapping[str, float]]],
    new: Mapping[str, Mapping[str, Mapping[str, float]]],
    gate: Mapping[str, Any],
    sizes: Mapping[str, int],
    diagrams: Mapping[str, str],
) -> str:
    corr = lineage["corrections"]
    w = lineage["weighting"]
    decision = "PROMOTED (activated)" if gate["promote"] else "REGISTERED, NOT ACTIVATED"
    lines = [
        f"# Retrained model {version}",
        "",
        f"Base version: `{lineage['base_version']}`; compared against the active version "
        f"`{old_version}`. Corrections from {corr['source']}"
        + (f" since {corr['since']}" if corr.get("since") else "")
        + ".",
        "",
        "## Data",
        "",
        f"- reviewed cases used: {corr['cases']} (train part {corr['train_cases']}, frozen "
        f"evaluation part {corr['eval_cases']}, {corr['eval_percent']}% by note-id hash; "
        f"{corr['superseded_revisions']} superseded revisions ignored)",
        f"- positive codes {corr['positives']} (of which added by coders {corr['added_codes']}), "
        f"negative codes (rejected, replaced, or suggested but left out) {corr['negatives']}",
        f"- base training notes: {w['base_notes']}; each training correction repeated "
        f"{w['repeat']} times (target share {w['target_share']:.0%}; corrections are "
        f"{w['correction_share']:.1%} of the weighted set)",
        "- evaluation notes: " + ", ".join(f"{k} {v}" for k, v in sizes.items()),
        "",
        "## Old vs new",
        "",
    ]
    for set_name in new:
        lines += [f"### {set_name}", "", _table(old.get(set_name, {}), new[set_name]), ""]
    lines += ["## Gate decision", "", f"**{decision}**", ""]
    tol = gate["tolerances"]
    lines.append(
        f"Rules: MAP and accepted-code precision not lower than the active version by more than "
        f"{tol['map']} / {tol['accepted_precision']} (precision: or one accepted code's "
        f"worth, 1/n, if larger) on any set and system, and corrections MAP "
        f"higher by at least {tol['min_gain_corrections_map']}. Systems with fewer than "
        f"{tol['min_gold_codes']} gold codes in a set are not compared there."
    )
    lines.append("")
    skipped = [c for c in gate["checks"] if c.get("ok") is None]
    for c in skipped:
        lines.append(f"- skipped {c['check']}: {c['skipped']}")
    for reason in gate["reasons"]:
        lines.append(f"- {reason}")
    if diagrams:
        lines += ["", "## Reliability (new version)", ""]
        for name, rel in diagrams.items():
            lines.append(f"![{name}]({rel})")
    return "\n".join(lines) + "\n"
