"""CodiEsp dev: model v1 against model v2 (the network alone and the shipped ensemble).

    python -m evaluation.benchmark_v2 --v1-model runs/v1-codiesp --v2-model runs/v2-codiesp \\
        --codiesp ../shared/data/codiesp [--train-splits train] [--eval-split dev]

Both models must have been trained on the training splits only (their manifests' training data
are copied into the report). Reported per model: the harness metrics (MAP, P@k, R@15, ...);
the share of gold codes never seen in training that the model ranks in its top 15; and the
evidence check against `<eval-split>/evidence_en.jsonl` (the English sentence(s) each gold code
was annotated in):

- `overlap_share`: of the correctly predicted codes (selected at the model's threshold, and gold
  for the note) that have an annotated sentence, the share with at least one evidence span
  overlapping one of those sentences;
- `char_share`: the share of those codes' evidence characters that lie inside their sentences.

The same two numbers are also given for every gold code in the top 15 (`..._top15`).

"v2 network" is the v2 artifact with `scoring="network"`: the same candidates, ranked by the
network's score alone (an ablation; scores are uncalibrated sigmoid values).

Writes `<out>/benchmark_v2_<corpus>_<split>.json` and `.md`, and prints the table.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.benchmark import _as_note, _threshold_map, exact_summary
from evaluation.datasets import DatasetError, LabeledNote, load_codiesp, load_codiesp_dir
from evaluation.harness import OVERALL, evaluate
from evaluation.metrics import ranked_codes

logger = logging.getLogger(__name__)

Ranges = dict[tuple[str, str], list[tuple[int, int]]]


def load_gold_sentences(path: str | Path) -> Ranges:
    """`(note id, code) -> [(start, end), ...]` English sentence ranges of diagnosis codes."""
    out: Ranges = {}
    with Path(path).open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if row.get("label") != "DIAGNOSTICO":
                    continue
                key = (str(row["id"]), str(row["code"]).upper())
                ranges = [(int(s), int(e)) for s, e in row["en_ranges"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise DatasetError(f"{path}:{lineno}: unreadable evidence row ({exc})") from None
            out.setdefault(key, []).extend(ranges)
    return out


def _inside(span: tuple[int, int], ranges: Sequence[tuple[int, int]]) -> int:
    """Characters of `span` covered by the union of `ranges`."""
    covered = 0
    s, e = span
    last = s
    for a, b in sorted(ranges):
        a, b = max(a, last), min(b, e)
        if b > a:
            covered += b - a
            last = b
    return covered


def evidence_check(
    predictions: Sequence[Mapping[str, Any]],
    sentences: Ranges,
    gold: Sequence[LabeledNote],
    *,
    threshold: Mapping[str, float] | None,
    top: int = 15,
) -> dict[str, float]:
    """The two evidence shares (see the module docstring), at the threshold and in the top 15."""
    gold_sets = {n.id: n.gold_set("ICD-10-CM") for n in gold}
    counts = {k: [0, 0, 0, 0] for k in ("thr", "top")}  # codes, overlapping, chars, chars inside
    for pred in predictions:
        note_id = str(pred["id"])
        ranked = ranked_codes(pred["codes"], "ICD-10-CM")
        for rank, c in enumerate(ranked, start=1):
            key = (note_id, str(c["code"]).upper())
            if ("ICD-10-CM", str(c["code"])) not in gold_sets.get(note_id, set()):
                continue
            ranges = sentences.get(key)
            if not ranges:
                continue
            spans = [(int(e["start"]), int(e["end"])) for e in c.get("evidence", [])]
            chars = sum(e - s for s, e in spans)
            inside = sum(_inside(sp, ranges) for sp in spans)
            hit = any(_inside(sp, ranges) > 0 for sp in spans)
            groups = []
            if rank <= top:
                groups.append("top")
            if threshold is None or float(c["score"]) >= threshold.get("ICD-10-CM", 0.5):
                groups.append("thr")
            for g in groups:
                counts[g][0] += 1
                counts[g][1] += int(hit)
                counts[g][2] += chars
                counts[g][3] += inside
    out: dict[str, float] = {}
    for g, suffix in (("thr", ""), ("top", "_top15")):
        n, hits, chars, inside = counts[g]
        out[f"codes{suffix}"] = float(n)
        out[f"overlap_share{suffix}"] = hits / n if n else 0.0
        out[f"char_share{suffix}"] = inside / chars if chars else 0.0
    return out


def unseen_top15(
    predictions: Sequence[Mapping[str, Any]],
    gold: Sequence[LabeledNote],
    train: Sequence[LabeledNote],
    top: int = 15,
) -> dict[str, float]:
    """Gold (note, code) pairs whose code no training note has, and the share ranked in the top
    15 of the note's list for that system."""
    seen = {(c.system, c.code) for n in train for c in n.codes}
    by_id = {str(p["id"]): p for p in predictions}
    total = found = 0
    for note in gold:
        pred = by_id.get(note.id)
        for system, code in note.gold_set():
            if (system, code) in seen:
                continue
            total += 1
            if pred is None:
                continue
            ranked = ranked_codes(pred["codes"], system)[:top]
            found += any(str(c["code"]) == code for c in ranked)
    return {"unseen_gold": float(total), "unseen_top15": found / total if total else 0.0}


def _predict(suggester: Any, notes: Sequence[LabeledNote], top_k: int) -> list[dict[str, Any]]:
    from tqdm import tqdm

    from model.text.note import Note, NoteError

    return [
        suggester.suggest(_as_note(n, Note, NoteError), top_k=top_k).to_dict()
        for n in tqdm(notes, desc="predicting", unit="note")
    ]


def _network_only(suggester: Any) -> Any:
    """The same loaded v2 model, ranking by the network's score alone."""
    from model.artifact import ArtifactSuggester

    estimator = copy.copy(suggester._estimator)  # shallow: shares the fitted parts
    estimator.scoring = "network"
    return ArtifactSuggester(estimator, suggester.manifest, suggester.path)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from model.artifact import load_suggester

    split = args.eval_split
    train_splits = [s for s in args.train_splits.split(",") if s]
    if split in train_splits:
        raise SystemExit(f"--eval-split {split!r} is also a training split")
    train = load_codiesp_dir(args.codiesp, train_splits)
    test = load_codiesp(Path(args.codiesp) / split)
    if args.max_eval is not None:
        test = test[: args.max_eval]
    sentences = load_gold_sentences(Path(args.codiesp) / split / "evidence_en.jsonl")
    v2 = load_suggester(args.v2_model)
    systems: dict[str, Any] = {"v1": load_suggester(args.v1_model), "v2": v2}
    if not args.skip_network:
        systems["v2 network"] = _network_only(v2)
    name = f"codiesp_{split}"
    results: dict[str, Any] = {}
    for label, suggester in systems.items():
        t0 = time.perf_counter()
        preds = _predict(suggester, test, args.top_k)
        elapsed = time.perf_counter() - t0
        thr = _threshold_map(suggester.manifest.get("thresholds"))
        if label == "v2 network":
            thr = None  # uncalibrated scores: threshold-free metrics only
        report = evaluate(preds, test, threshold=thr)
        ranking = report["by_system"][OVERALL]["ranking"]
        results[label] = {
            "model_version": suggester.model_version,
            "training_data": (suggester.manifest.get("training") or {}).get("data"),
            "ranking": ranking,
            "accepted": report["by_system"][OVERALL]["accepted"],
            "threshold": report["by_system"][OVERALL]["threshold"],
            "exact_codes": exact_summary(preds, test, thr),
            "gold_codes_coarser_than_release": report["gold_codes_coarser_than_release"],
            "unseen": unseen_top15(preds, test, train),
            "evidence": evidence_check(preds, sentences, test, threshold=thr),
            "predict_s": round(elapsed, 1),
        }
        logger.info("%s: MAP %.4f", label, ranking["map"])
    summary = {
        "benchmark": f"benchmark_v2_{name}",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "n_train": len(train),
        "n_eval": len(test),
        "top_k": args.top_k,
        "cpu_count": os.cpu_count(),
        "results": results,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"benchmark_v2_{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / f"benchmark_v2_{name}.md").write_text(markdown(summary))
    return summary


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['benchmark']}",
        "",
        f"Run {summary['created_at']}: {summary['n_train']} training notes, {summary['n_eval']} "
        f"evaluation notes, top {summary['top_k']} codes per system.",
        "",
        "| system | MAP | MAP exact codes | P@5 | R@15 | micro-F1 @thr | accepted P "
        "| unseen gold in top 15 | evidence overlap share | evidence char share | predict s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in summary["results"].items():
        ev = r["evidence"]
        exact_map = r.get("exact_codes", {}).get("map", float("nan"))
        lines.append(
            f"| {label} | {r['ranking']['map']:.3f} "
            f"| {exact_map:.3f} | {r['ranking']['p@5']:.3f} "
            f"| {r['ranking']['r@15']:.3f} | {r['threshold']['micro_f1']:.3f} "
            f"| {r['accepted']['micro_p']:.3f} "
            f"| {r['unseen']['unseen_top15']:.3f} (of {int(r['unseen']['unseen_gold'])}) "
            f"| {ev['overlap_share']:.3f} / top15 {ev['overlap_share_top15']:.3f} "
            f"| {ev['char_share']:.3f} / top15 {ev['char_share_top15']:.3f} "
            f"| {r['predict_s']:.0f} |"
        )
    lines += [
        "",
        "MAP credits a current-release refinement of a gold code the current ICD-10-CM release "
        "no longer bills (R51 → R51.9; see `evaluation/harness.py`); 'MAP exact codes' scores "
        "exact strings. "
        "Evidence shares: over correctly predicted codes at the model's threshold (and, after "
        "'top15', over gold codes in the top 15); see `evaluation/benchmark_v2.py`. The v2 "
        "network row ranks by the network alone and has no calibrated threshold (every "
        "returned gold code counts for its evidence shares).",
        "",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evaluation.benchmark_v2", description=__doc__.split("\n")[0]
    )
    p.add_argument("--v1-model", required=True, help="v1 model folder trained on --train-splits")
    p.add_argument("--v2-model", required=True, help="v2 model folder trained on --train-splits")
    p.add_argument("--codiesp", required=True, help="CodiEsp root holding train/ and dev/")
    p.add_argument("--train-splits", default="train")
    p.add_argument("--eval-split", default="dev")
    p.add_argument("--out", default="evaluation/reports")
    p.add_argument("--max-eval", type=int, default=None)
    p.add_argument("--top-k", type=int, default=30)
    p.add_argument("--skip-network", action="store_true", help="leave out the network-only row")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    summary = run(build_parser().parse_args(argv))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
