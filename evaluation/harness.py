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
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
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


def _align(
    predictions: Sequence[Mapping[str, Any]], gold: Sequence[LabeledNote], systems: set[str]
) -> tuple[list[list[dict[str, Any]]], dict[str, Any]]:
    by_id: dict[str, list[dict[str, Any]]] = {}
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
) -> dict[str, Any]:
    """Score `predictions` against `gold`; per code system and overall.

    `threshold` (a float, or `{system: float}`; default 0.5 for every system) selects the codes
    scored under "threshold"; "accepted" scores the codes flagged `accepted`. With `out_dir`,
    writes `<name>.json` and `<name>_reliability[_<system>].png` there and lists them under
    `files`.
    """
    if not gold:
        raise ValueError("gold is empty: nothing to evaluate")
    present = {c.system for n in gold for c in n.codes}
    systems = [s for s in SYSTEM_ORDER if s in present] + sorted(present - set(SYSTEM_ORDER))
    aligned, info = _align(predictions, gold, set(systems))
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
    return "\n".join([title, line(header), *[line(r) for r in rows]])
