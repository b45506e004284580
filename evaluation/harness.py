"""The evaluation harness: score predictions against a labelled corpus, per code system.

    report = evaluate(predictions, gold, threshold={"ICD-10-CM": 0.4}, out_dir="out", name="dev")
    print(format_table(report))

The report holds, under `by_system`, one entry per scored system plus `overall` (all scored
systems pooled; equal to the single system's entry when only one is scored).

`predictions` are dicts in the `chartcoder predict` JSONL format (`{"id", "model_version",
"codes": [...]}`); `gold` the `LabeledNote`s of `evaluation.datasets`. Only the code systems
that the gold corpus labels are scored (CodiEsp labels ICD-10-CM only, so CPT/HCPCS suggestions
on CodiEsp are set aside and counted in `ignored_predicted_codes`). A gold note without a
prediction counts as an empty suggestion list; predictions for unknown ids are ignored and
counted. Evidence spans that lie outside the note or whose `text` is not the note's slice at
their offsets are counted in `evidence_spans_invalid` (the evidence metrics use offsets only).

Gold codes coarser than the current release. A corpus annotated under an older ICD-10-CM release
holds codes that are no longer billable: R51 "Headache" became a category in FY2021 (R51.0,
R51.9), M54.5 in FY2022, and CodiEsp drops the 7th character of injury codes (T14.90 for
T14.90XA, W19.XXX for W19.XXXA). A model that obeys the current release can never emit them. With
`release_aware=True` (the default) a predicted ICD-10-CM code that refines such a gold code (its
undotted form extends the gold code's) is scored as that gold code; only the highest-ranked
refinement of each is credited, further ones stay wrong. Gold codes billable in the current release
are matched exactly, as before. The report counts both (`gold_codes_coarser_than_release`,
`predictions_credited_to_coarser_gold`); `release_aware=False` scores exact strings only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.calibration import CalibrationMetrics
from evaluation.datasets import DatasetError, LabeledNote, validate_predicted_code
from evaluation.metrics import (
    ACCEPTED,
    DEFAULT_THRESHOLD,
    AutomationMetrics,
    DistractorMetrics,
    EvidenceMetrics,
    RankingMetrics,
    Selection,
    SetMetrics,
)

logger = logging.getLogger(__name__)

ICD = "ICD-10-CM"

SYSTEM_ORDER: tuple[str, ...] = ("ICD-10-CM", "CPT", "HCPCS")
OVERALL = "overall"


def _span_matches(text: str, evidence: Any) -> bool:
    """True when a predicted span lies inside the note and its `text` (if given) is the slice."""
    if isinstance(evidence, Mapping):
        start, end = evidence.get("start"), evidence.get("end")
        quoted = evidence.get("text")
    else:
        start, end = evidence
        quoted = None
    if not (isinstance(start, int) and isinstance(end, int) and 0 <= start <= end <= len(text)):
        return False
    return quoted is None or text[start:end] == quoted


class _Release:
    """Which gold ICD-10-CM codes are coarser than the current release (memoised lookups)."""

    def __init__(self) -> None:
        from model.codesets import get_catalog

        self._catalog = get_catalog()
        self._coarse: dict[str, bool] = {}

    def coarse(self, code: str) -> bool:
        if code not in self._coarse:
            entry = self._catalog.get(ICD, code)
            self._coarse[code] = entry is None or not entry.billable
        return self._coarse[code]


def credit_coarse_gold(
    codes: Sequence[dict[str, Any]], gold: set[tuple[str, str]], coarse: Callable[[str], bool]
) -> tuple[list[dict[str, Any]], int]:
    """`codes` with the best-ranked refinement of each coarse gold ICD-10-CM code renamed to it.

    `coarse(code) -> bool` says whether a gold code is not billable in the current release.
    Returns the codes (copies where renamed) and how many were renamed.
    """
    targets = sorted(
        (c for s, c in gold if s == ICD and coarse(c)), key=lambda c: -len(c)
    )  # the most specific gold code first when two nest
    if not targets:
        return list(codes), 0
    stems = {t: t.replace(".", "") for t in targets}
    # a coarse gold code the list already names exactly is not credited twice
    claimed = {c["code"] for c in codes if c["system"] == ICD and c["code"] in stems}
    order = sorted(range(len(codes)), key=lambda i: -float(codes[i].get("score", 0.0)))
    out = list(codes)
    renamed = 0
    for i in order:
        c = codes[i]
        if c["system"] != ICD or (ICD, c["code"]) in gold:
            continue
        flat = c["code"].replace(".", "")
        for t in targets:
            if t not in claimed and flat.startswith(stems[t]) and len(flat) > len(stems[t]):
                claimed.add(t)
                out[i] = {**c, "code": t}
                renamed += 1
                break
    return out, renamed


def _align(
    predictions: Sequence[Mapping[str, Any]],
    gold: Sequence[LabeledNote],
    systems: set[str],
    release_aware: bool = True,
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    by_id: dict[str, list[dict[str, Any]]] = {}
    release = _Release() if release_aware and ICD in systems else None
    gold_sets = {n.id: n.gold_set() for n in gold}
    credited = 0
    versions: set[str] = set()
    ignored = 0
    texts = {n.id: n.text for n in gold}
    spans = bad_spans = 0
    for i, pred in enumerate(predictions):
        where = f"predictions[{i}]"
        if not isinstance(pred, Mapping):
            raise DatasetError(f"{where} must be an object")
        note_id = pred.get("id")
        if not isinstance(note_id, str) or not note_id:
            raise DatasetError(f"{where}: field 'id' must be a non-empty string; got {note_id!r}")
        if note_id in by_id:
            raise DatasetError(f"{where}: duplicate prediction for note id {note_id!r}")
        raw = pred.get("codes")
        if not isinstance(raw, list):
            raise DatasetError(f"{where}: field 'codes' must be a list")
        codes = [validate_predicted_code(c, f"{where}: codes[{j}]") for j, c in enumerate(raw)]
        kept = [c for c in codes if c["system"] in systems]
        text = texts.get(note_id)
        if text is not None:
            for c in raw:
                for e in c.get("evidence") or ():
                    spans += 1
                    bad_spans += not _span_matches(text, e)
        ignored += len(codes) - len(kept)
        if release is not None and note_id in gold_sets:
            kept, n = credit_coarse_gold(kept, gold_sets[note_id], release.coarse)
            credited += n
        by_id[note_id] = kept
        if pred.get("model_version"):
            versions.add(str(pred["model_version"]))
    gold_ids = {n.id for n in gold}
    aligned = [by_id.get(n.id, []) for n in gold]
    info = {
        "n_notes": len(gold),
        "missing_predictions": sum(1 for n in gold if n.id not in by_id),
        "extra_predictions": sum(1 for i in by_id if i not in gold_ids),
        "ignored_predicted_codes": ignored,
        "model_versions": sorted(versions),
        "evidence_spans": spans,
        "evidence_spans_invalid": bad_spans,
        "release_aware": release is not None,
        "gold_codes_coarser_than_release": (
            sum(1 for g in gold_sets.values() for s, c in g if s == ICD and release.coarse(c))
            if release is not None
            else None
        ),
        "predictions_credited_to_coarser_gold": credited if release is not None else None,
    }
    if bad_spans:
        logger.warning(
            "%d of %d evidence spans lie outside the note or misquote it", bad_spans, spans
        )
    if info["missing_predictions"]:
        logger.warning("%d gold notes have no prediction", info["missing_predictions"])
    return aligned, info


def _metrics(system: str | None, thr: Selection) -> dict[str, Any]:
    return {
        "ranking": RankingMetrics(system),
        "accepted": SetMetrics(system, ACCEPTED),
        "threshold": SetMetrics(system, thr),
        "evidence_accepted": EvidenceMetrics(system, ACCEPTED),
        "evidence_threshold": EvidenceMetrics(system, thr),
        "calibration": CalibrationMetrics(system),
        "automation": AutomationMetrics(system),
        "distractors_accepted": DistractorMetrics(system, ACCEPTED),
        "distractors_threshold": DistractorMetrics(system, thr),
    }


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "evaluation"


def evaluate(
    predictions: Sequence[Mapping[str, Any]],
    gold: Sequence[LabeledNote],
    *,
    threshold: float | Mapping[str, float] | None = None,
    out_dir: str | Path | None = None,
    name: str = "",
    release_aware: bool = True,
) -> dict[str, Any]:
    """Score `predictions` against `gold`; per code system and overall.

    `release_aware`: credit current-release refinements of gold codes that the current
    ICD-10-CM release no longer bills (see the module docstring); False scores exact codes.

    `threshold` (a float, or `{system: float}`; default 0.5 for every system) selects the codes
    scored under "threshold"; "accepted" scores the codes flagged `accepted`. With `out_dir`,
    writes `<name>.json` and `<name>_reliability[_<system>].png` there and lists them under
    `files`.
    """
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    present = {c.system for n in gold for c in n.codes}
    systems = [s for s in SYSTEM_ORDER if s in present] + sorted(present - set(SYSTEM_ORDER))
    aligned, info = _align(predictions, gold, set(systems), release_aware)
    if isinstance(threshold, Mapping):
        thresholds = {s: float(threshold.get(s, DEFAULT_THRESHOLD)) for s in systems}
    else:
        t = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        thresholds = dict.fromkeys(systems, t)
    selection = Selection("threshold", thresholds)

    groups: dict[str, dict[str, Any]] = {s: _metrics(s, selection) for s in systems}
    groups[OVERALL] = _metrics(None, selection)
    for metrics in groups.values():
        for m in metrics.values():
            m.update(aligned, gold)

    report: dict[str, Any] = {
        "name": name,
        **info,
        "systems": systems,
        "thresholds": thresholds,
        "threshold_source": "default" if threshold is None else "given",
        "gold_codes": {s: sum(len(n.gold_set(s)) for n in gold) for s in systems},
        "by_system": {},
    }
    for key, metrics in groups.items():
        report["by_system"][key] = {k: m.compute() for k, m in metrics.items()}
        report["by_system"][key]["calibration"]["bins"] = metrics["calibration"].bins()

    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        stem = _safe_name(name)
        files: dict[str, str] = {}
        for key, metrics in groups.items():
            if key != OVERALL and len(systems) == 1:
                continue  # the overall diagram is the same
            suffix = "" if key == OVERALL else f"_{_safe_name(key)}"
            png = metrics["calibration"].plot(
                out / f"{stem}_reliability{suffix}.png", title=f"{name} {key}".strip()
            )
            files[f"reliability_png{suffix}"] = str(png)
        json_path = out / f"{stem}.json"
        files["json"] = str(json_path)
        report["files"] = files
        json_path.write_text(json.dumps(report, indent=2, sort_keys=False) + "\n")
        logger.info("wrote %s", json_path)
    return report


_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("MAP", "ranking", "map"),
    ("P@5", "ranking", "p@5"),
    ("P@8", "ranking", "p@8"),
    ("R@15", "ranking", "r@15"),
    ("thr-P", "threshold", "micro_p"),
    ("thr-R", "threshold", "micro_r"),
    ("thr-F1", "threshold", "micro_f1"),
    ("thr-maF1", "threshold", "macro_f1"),
    ("acc-P", "accepted", "micro_p"),
    ("acc-R", "accepted", "micro_r"),
    ("acc-F1", "accepted", "micro_f1"),
    ("ev-ovF1", "evidence_threshold", "overlap_f1"),
    ("ev-exF1", "evidence_threshold", "exact_f1"),
    ("ECE", "calibration", "ece"),
    ("auto", "automation", "automation_rate"),
    ("distFP", "distractors_threshold", "rate"),
)


def format_table(report: Mapping[str, Any]) -> str:
    """A fixed-width text table of the headline metrics, one row per code system."""
    header = ["system", *[c[0] for c in _COLUMNS]]
    rows = []
    for key, m in report["by_system"].items():
        rows.append([key, *[f"{m[group][metric]:.3f}" for _, group, metric in _COLUMNS]])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    thr = ", ".join(f"{s}={t:g}" for s, t in report["thresholds"].items())
    title = (
        f"{report.get('name') or 'evaluation'}: {report['n_notes']} notes, "
        f"{report['missing_predictions']} without prediction; threshold {thr} "
        f"({report['threshold_source']})"
    )
    if report.get("evidence_spans_invalid"):
        title += (
            f"; {report['evidence_spans_invalid']} of {report['evidence_spans']} evidence spans "
            "outside the note or misquoted"
        )
    if report.get("predictions_credited_to_coarser_gold"):
        title += (
            f"; {report['predictions_credited_to_coarser_gold']} predictions credited to "
            f"{report['gold_codes_coarser_than_release']} gold codes the current ICD-10-CM "
            "release no longer bills (--exact-codes to score exact strings)"
        )
    return "\n".join([title, line(header), *[line(r) for r in rows]])
