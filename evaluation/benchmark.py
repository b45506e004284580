"""Compare the model with the two reference systems, in one run, on the same split.

    python -m evaluation.benchmark --model MODEL_DIR --codiesp ROOT --train-splits train \\
        --eval-split dev [--out evaluation/reports]
    python -m evaluation.benchmark --model MODEL_DIR --synthetic DIR [--eval-split test]

The baselines (`evaluation.baselines`) are fitted on the training splits; the model is loaded
from its folder (`model.artifact.load_suggester`) and is expected to have been trained on the
same training splits (the benchmark cannot check this; the manifest's training data is copied
into the report). `--predictions FILE` scores a `chartcoder predict` output instead of loading
the model; leaving out both scores the baselines only.

Writes `<out>/benchmark_<corpus>_<split>.json` and `.md`, plus each system's harness report and
reliability diagrams as `<out>/benchmark_<corpus>_<split>_<system>[_reliability].{json,png}`, and
prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.datasets import LabeledNote, load_codiesp, load_codiesp_dir, load_synthetic
from evaluation.harness import OVERALL, evaluate, format_table

logger = logging.getLogger(__name__)

MODEL = "model"


def load_corpus(args: argparse.Namespace) -> tuple[str, list[LabeledNote], list[LabeledNote]]:
    """(run name, training notes, evaluation notes) from the command-line choice of corpus."""
    if args.codiesp:
        split = args.eval_split or "dev"
        train_splits = [s for s in args.train_splits.split(",") if s]
        if split in train_splits:
            raise SystemExit(f"--eval-split {split!r} is also a training split")
        train = load_codiesp_dir(args.codiesp, train_splits)
        test = load_codiesp(Path(args.codiesp) / split)
        return f"codiesp_{split}", train, test
    split = args.eval_split or "test"
    train = load_synthetic(args.synthetic, split="train")
    test = load_synthetic(args.synthetic, split=split)
    return f"synthetic_{split}", train, test


def model_predictions(
    model_dir: str, notes: Sequence[LabeledNote], top_k: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Predictions of the saved model, plus what its manifest says (version, thresholds)."""
    from tqdm import tqdm

    from model.artifact import load_suggester
    from model.text.note import Note, NoteError

    suggester = load_suggester(model_dir)
    manifest = getattr(suggester, "manifest", {}) or {}
    batch_size = 32
    out: list[dict[str, Any]] = []
    with tqdm(total=len(notes), desc="model", unit="note") as bar:
        for start in range(0, len(notes), batch_size):
            batch = [_as_note(n, Note, NoteError) for n in notes[start : start + batch_size]]
            out.extend(s.to_dict() for s in suggester.suggest_batch(batch, top_k=top_k))
            bar.update(len(batch))
    info = {
        "model_version": suggester.model_version,
        "thresholds": manifest.get("thresholds"),
        "training_data": (manifest.get("training") or {}).get("data"),
    }
    return out, info


def _as_note(n: LabeledNote, note_cls: Any, error_cls: Any) -> Any:
    """A model `Note`; metadata the model rejects is dropped with a warning, not the note."""
    try:
        return note_cls.create(n.text, id=n.id, meta=n.meta)
    except error_cls as exc:
        if not exc.field.startswith("meta"):
            raise
        logger.warning("note %s: %s; scoring it without metadata", n.id, exc)
        return note_cls.create(n.text, id=n.id)


def _threshold_map(raw: Any) -> dict[str, float] | None:
    """A manifest's per-system thresholds, if they are a plain `{system: number}` mapping."""
    if isinstance(raw, dict) and raw and all(isinstance(v, int | float) for v in raw.values()):
        return {str(k): float(v) for k, v in raw.items()}
    return None


def run(args: argparse.Namespace) -> dict[str, Any]:
    from evaluation.baselines import DescriptionMatchBaseline, TfidfLogRegBaseline

    name, train, test = load_corpus(args)
    if args.max_train is not None:
        train = train[: args.max_train]
    if args.max_eval is not None:
        test = test[: args.max_eval]
    out_dir = Path(args.out)
    detail_dir = out_dir  # per-system reports sit beside the summary (json/png: git-ignored)
    results: dict[str, Any] = {}
    exact: dict[str, Any] = {}  # release-aware runs: the same predictions on exact strings
    timing: dict[str, dict[str, float]] = {}
    extra: dict[str, Any] = {}

    if args.model or args.predictions:
        t0 = time.perf_counter()
        if args.predictions:
            from evaluation.datasets import load_predictions

            preds = load_predictions(args.predictions)
            info: dict[str, Any] = {"predictions_file": str(args.predictions)}
        else:
            preds, info = model_predictions(args.model, test, args.top_k)
        elapsed = time.perf_counter() - t0
        timing[MODEL] = {"fit_s": 0.0, "predict_s": elapsed, "notes_per_s": len(test) / elapsed}
        threshold = args.threshold if args.threshold is not None else None
        if threshold is None:
            threshold = _threshold_map(info.get("thresholds"))
        extra[MODEL] = info
        results[MODEL] = evaluate(
            preds,
            test,
            threshold=threshold,
            out_dir=detail_dir,
            name=f"benchmark_{name}_{MODEL}",
            release_aware=not args.exact_codes,
        )
        if not args.exact_codes:
            exact[MODEL] = exact_summary(preds, test, threshold)

    for cls in (TfidfLogRegBaseline, DescriptionMatchBaseline):
        t0 = time.perf_counter()
        system = cls(top_k=args.top_k)
        if cls is TfidfLogRegBaseline:
            system.show_progress = True  # type: ignore[union-attr]
        system.fit(train)
        t1 = time.perf_counter()
        preds = system.predict(test)
        t2 = time.perf_counter()
        timing[cls.name] = {
            "fit_s": t1 - t0,
            "predict_s": t2 - t1,
            "notes_per_s": len(test) / (t2 - t1),
        }
        results[cls.name] = evaluate(
            preds,
            test,
            threshold=args.threshold,
            out_dir=detail_dir,
            name=f"benchmark_{name}_{cls.name}",
            release_aware=not args.exact_codes,
        )
        if not args.exact_codes:
            exact[cls.name] = exact_summary(preds, test, args.threshold)

    summary = {
        "benchmark": name,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_train": len(train),
        "n_eval": len(test),
        "top_k": args.top_k,
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "model": extra.get(MODEL),
        "timing": timing,
        "results": results,
        "release_aware": not args.exact_codes,
        "exact_codes": exact,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"benchmark_{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out_dir / f"benchmark_{name}.md").write_text(markdown(summary))
    return summary


def exact_summary(
    preds: Sequence[Mapping[str, Any]], test: Sequence[LabeledNote], threshold: Any
) -> dict[str, float]:
    """Headline metrics (pooled over systems) of predictions scored on exact code strings, i.e.
    without the harness's credit for refinements of codes the current release no longer bills."""
    report = evaluate(preds, test, threshold=threshold, release_aware=False)
    m = report["by_system"][OVERALL]
    return {
        "map": m["ranking"]["map"],
        "micro_f1_threshold": m["threshold"]["micro_f1"],
        "accepted_precision": m["accepted"]["micro_p"],
        "accepted_recall": m["accepted"]["micro_r"],
    }


_MD_COLUMNS = (
    ("MAP", "ranking", "map"),
    ("P@5", "ranking", "p@5"),
    ("P@8", "ranking", "p@8"),
    ("R@15", "ranking", "r@15"),
    ("micro-F1 @thr", "threshold", "micro_f1"),
    ("macro-F1 @thr", "threshold", "macro_f1"),
    ("accepted P", "accepted", "micro_p"),
    ("accepted R", "accepted", "micro_r"),
    ("evidence overlap F1", "evidence_threshold", "overlap_f1"),
    ("ECE", "calibration", "ece"),
    ("automation", "automation", "automation_rate"),
    ("distractor FP", "distractors_threshold", "rate"),
)


def _cell(m: dict[str, Any], group: str, key: str) -> str:
    """A metric value, or n/a where nothing was there to measure (e.g. no distractor labels)."""
    count = {"distractors_threshold": "n_distractors", "evidence_threshold": "n_codes"}.get(group)
    if count is not None and not m[group].get(count, 1):
        return "n/a"
    return f"{m[group][key]:.3f}"


def comparison_table(summary: dict[str, Any], system: str = OVERALL) -> str:
    """A markdown table: one row per compared system, headline metrics of one code system."""
    head = "| system | " + " | ".join(c[0] for c in _MD_COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(_MD_COLUMNS) + 1)]
    for name, report in summary["results"].items():
        m = report["by_system"].get(system)
        if m is None:
            continue
        cells = [_cell(m, g, k) for _, g, k in _MD_COLUMNS]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def targets(summary: dict[str, Any]) -> list[tuple[str, float, str, bool]]:
    """The issue's targets, checked on the model row: (target, value, bound, met)."""
    res = summary["results"]
    if MODEL not in res:
        return []
    m = res[MODEL]["by_system"]
    out: list[tuple[str, float, str, bool]] = []
    if summary["benchmark"].startswith("codiesp"):
        mapv = m[OVERALL]["ranking"]["map"]
        best = max(
            (r["by_system"][OVERALL]["ranking"]["map"] for k, r in res.items() if k != MODEL),
            default=0.0,
        )
        out.append(("MAP", mapv, ">= 0.40", mapv >= 0.40))
        out.append(("MAP minus best reference MAP", mapv - best, "> 0", mapv > best))
    else:
        for system in ("ICD-10-CM", "CPT"):
            if system in m:
                f1 = m[system]["threshold"]["micro_f1"]
                out.append((f"{system} micro-F1", f1, ">= 0.85", f1 >= 0.85))
        ev = m[OVERALL]["evidence_threshold"]["overlap_f1"]
        out.append(("evidence overlap F1", ev, ">= 0.85", ev >= 0.85))
        dfp = m[OVERALL]["distractors_threshold"]["rate"]
        out.append(("distractor false-positive rate", dfp, "<= 0.03", dfp <= 0.03))
    acc = m[OVERALL]["accepted"]
    out.append(("accepted precision", acc["micro_p"], ">= 0.95", acc["micro_p"] >= 0.95))
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark: {summary['benchmark']}",
        "",
        f"Run {summary['created_at']}: {summary['n_train']} training notes, "
        f"{summary['n_eval']} evaluation notes, top {summary['top_k']} codes per system.",
        "",
    ]
    if summary.get("model"):
        lines += [f"Model: `{json.dumps(summary['model'], default=str)[:500]}`", ""]
    first = next(iter(summary["results"].values()))
    for system in [*first["systems"], OVERALL] if len(first["systems"]) > 1 else [OVERALL]:
        lines += [f"## {system}", "", comparison_table(summary, system), ""]
    if summary.get("exact_codes"):
        r0 = next(iter(summary["results"].values()))
        lines += [
            "## Exact code strings",
            "",
            f"The tables above credit a current-release refinement of a gold code the current "
            f"ICD-10-CM release no longer bills (R51 → R51.9, T14.90 → T14.90XA; "
            f"{r0.get('gold_codes_coarser_than_release')} gold codes here). Scored on exact "
            "strings instead:",
            "",
            "| system | MAP | micro-F1 @thr | accepted P | accepted R |",
            "|---|---|---|---|---|",
        ]
        for k, v in summary["exact_codes"].items():
            lines.append(
                f"| {k} | {v['map']:.3f} | {v['micro_f1_threshold']:.3f} | "
                f"{v['accepted_precision']:.3f} | {v['accepted_recall']:.3f} |"
            )
        lines.append("")
    thr = {k: r["thresholds"] for k, r in summary["results"].items()}
    lines += [
        "Thresholds used for the @thr, evidence and distractor columns: "
        + "; ".join(f"{k} {v}" for k, v in thr.items()),
        "",
        "## Timing (seconds)",
        "",
        f"Wall clock, {summary.get('cpu_count', '?')} CPUs, 1-minute load average "
        f"{summary.get('load_average_1m', float('nan')):.1f} at the end of the run.",
        "",
        "| system | fit | predict | notes/s |",
        "|---|---|---|---|",
    ]
    for k, t in summary["timing"].items():
        lines.append(f"| {k} | {t['fit_s']:.1f} | {t['predict_s']:.1f} | {t['notes_per_s']:.1f} |")
    checks = targets(summary)
    if checks:
        lines += [
            "",
            "## Targets (model)",
            "",
            "| target | value | bound | met |",
            "|---|---|---|---|",
        ]
        for t, v, b, ok in checks:
            lines.append(f"| {t} | {v:.3f} | {b} | {'yes' if ok else 'NO'} |")
    lines += [
        "",
        "Metric definitions: `evaluation/metrics.py`. MAP is trec_eval style over the returned "
        "ranked list; micro/macro F1 at the threshold; accepted P/R over codes flagged "
        "`accepted`; distractor FP = share of distractor codes selected at the threshold.",
        "",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evaluation.benchmark", description=__doc__.split("\n")[0]
    )
    p.add_argument("--model", help="model folder (chartcoder train --out)")
    p.add_argument("--predictions", help="score this predict JSONL instead of loading --model")
    corpus = p.add_mutually_exclusive_group(required=True)
    corpus.add_argument("--codiesp", help="CodiEsp root holding train/ and dev/")
    corpus.add_argument("--synthetic", help="synthetic corpus folder with train/dev/test.jsonl")
    p.add_argument(
        "--train-splits", default="train", help="CodiEsp training splits, comma-separated"
    )
    p.add_argument("--eval-split", default=None, help="default: dev (CodiEsp), test (synthetic)")
    p.add_argument("--out", default="evaluation/reports")
    p.add_argument(
        "--exact-codes",
        action="store_true",
        help="score exact code strings only (no credit for current-release refinements of gold "
        "codes the current ICD-10-CM release no longer bills)",
    )
    p.add_argument("--max-train", type=int, default=None, help="use the first N training notes")
    p.add_argument("--max-eval", type=int, default=None, help="score the first N eval notes")
    p.add_argument("--top-k", type=int, default=30)
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="override the selection threshold (default: the model's, else 0.5)",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    summary = run(args)
    for name, report in summary["results"].items():
        print(f"\n== {name}")
        print(format_table(report))
    print()
    print(comparison_table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
