"""Benchmark: does retraining learn a site's coding habit? (`chartcoder bench site-habits`)

The habit: on every note with type 2 diabetes (a gold ICD-10-CM code under E11), the site's coders
add Z79.899 (other long term (current) drug therapy), which the base model (trained on the
synthetic corpus, where that code is almost absent) does not suggest. The run:

1. generates a base synthetic corpus and trains a small base model on its train split;
2. starts the real service (FastAPI app, SQLite, the base model active) and, for each site note
   (a second synthetic corpus: diabetes notes and other notes), posts the note to
   `POST /v1/suggestions` and reviews it through `POST /v1/suggestions/{id}/review` like a careful
   coder: gold codes accepted or added with their evidence, wrong accepted codes rejected, and the
   habit code added on diabetes notes (evidence: the diabetes mention);
3. runs `training.retrain.run_retrain` from the database;
4. measures the pattern rate (share of held-out diabetes notes, the frozen evaluation part of the
   corrections, on which the model suggests Z79.899 at or above its ICD-10-CM threshold) before and
   after, the same rate on held-out non-diabetes notes (spurious), and the standard benchmark of
   the gate (MAP and accepted precision per system, old vs new).

The evaluation part of the notes is never trained on (frozen note-id hash split).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

TRIGGER_PREFIX = "E11"
HABIT = ("ICD-10-CM", "Z79.899")
EVAL_PERCENT = 35
BENCHMARK_NOTES = 300
#: The retrain's documented default weighting: corrections are about a quarter of the weighted
#: training set (k = 1 for 1,000 base notes and ~325 training corrections of the default 500).
TARGET_SHARE = 0.25
_META = ("setting", "specialty", "age", "sex", "date_of_service")


def is_trigger(note: Any) -> bool:
    return any(c.system == "ICD-10-CM" and c.code.startswith(TRIGGER_PREFIX) for c in note.codes)


def review_like_site(
    note: Any, suggested: Sequence[dict[str, Any]], habit: tuple[str, str] = HABIT
) -> dict[str, Any]:
    """The review body a site coder would send for `note` given the model's `suggested` codes."""
    gold = {(c.system, c.code): c for c in note.codes}
    wanted = dict(gold)
    if is_trigger(note) and habit not in wanted:
        trig = next(c for c in note.codes if c.code.startswith(TRIGGER_PREFIX))
        wanted[habit] = trig
    decisions = []
    seen = set()
    for c in suggested:
        key = (c["system"], c["code"])
        seen.add(key)
        if key in wanted:
            decisions.append({"system": key[0], "code": key[1], "action": "accept"})
        elif c.get("accepted"):
            decisions.append(
                {"system": key[0], "code": key[1], "action": "reject", "reason": "not_documented"}
            )
    added = []
    for key, src in wanted.items():
        if key in seen:
            continue
        evidence = [{"start": s, "end": e} for s, e in src.evidence]
        added.append({"system": key[0], "code": key[1], "evidence": evidence})
    return {"decisions": decisions, "added": added}


def pattern_rate(
    model_dir: Path, notes: Sequence[Any], top: int | None = None, habit: tuple[str, str] = HABIT
) -> float:
    """Share of `notes` on which the model suggests the habit code at/above its threshold
    (or, with `top`, anywhere among its `top` highest-ranked ICD-10-CM codes)."""
    from model.artifact import load_suggester
    from model.text.note import Note

    if not notes:
        return 0.0
    suggester = load_suggester(model_dir)
    thr = float((suggester.manifest.get("thresholds") or {}).get(habit[0], 0.5))
    hits = 0
    for n in notes:
        meta = {k: n.meta[k] for k in _META if k in n.meta}
        s = suggester.suggest(Note.create(n.text, id=n.id, meta=meta), top_k=30).to_dict()
        ranked = [c for c in s["codes"] if c["system"] == habit[0]]
        if top is not None:
            hits += any((c["system"], c["code"]) == habit for c in ranked[:top])
        else:
            hits += any((c["system"], c["code"]) == habit and c["score"] >= thr for c in ranked)
    return hits / len(notes)


def _inject(
    model_dir: Path, data_dir: Path, site: Sequence[Any], habit: tuple[str, str]
) -> dict[str, int]:
    from fastapi.testclient import TestClient

    from serving.app import create_app
    from serving.db import session_scope
    from serving.services.users import create_user
    from serving.settings import Settings

    settings = Settings(data_dir=data_dir, model_dir=model_dir, train_default_model=False)
    app = create_app(settings)
    counts = {"reviewed": 0, "rejected_by_api": 0}
    with TestClient(app, raise_server_exceptions=False) as client:
        with session_scope(app.state.session_factory) as session:
            key = create_user(session, name="site-coder", role="coder", created_by="bench").key
        headers = {"Authorization": f"Bearer {key}"}
        for n in site:
            meta = {k: n.meta[k] for k in _META if k in n.meta}
            r = client.post("/v1/suggestions", json={"text": n.text, "meta": meta}, headers=headers)
            if r.status_code != 200 and r.status_code != 201:
                counts["rejected_by_api"] += 1
                logger.warning("suggestion refused (%s): %s", r.status_code, r.text[:200])
                continue
            body = r.json()
            review = review_like_site(n, body["codes"], habit)
            rv = client.post(f"/v1/suggestions/{body['id']}/review", json=review, headers=headers)
            if rv.status_code >= 300:
                counts["rejected_by_api"] += 1
                logger.warning("review refused (%s): %s", rv.status_code, rv.text[:300])
                continue
            counts["reviewed"] += 1
    return counts


def run_site_habits(
    *,
    work_dir: Path | None = None,
    base_notes: int = 1000,
    site_notes: int = 500,
    seed: int = 5,
    habit_code: str = HABIT[1],
    progress: bool = False,
) -> dict[str, Any]:
    """Run the benchmark; return the JSON-able result (see module doc)."""
    habit = (HABIT[0], habit_code)
    from data.synthetic import generate_corpus
    from evaluation.datasets import load_synthetic
    from training import corrections as corr
    from training.retrain import RetrainOptions, run_retrain
    from training.train import train_model

    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="site-habits-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    base_corpus = work / "base-corpus"
    # About 10% of a corpus lands in its test split: make it big enough for a 300-note benchmark
    # (on 100 notes a system's MAP moves by about 0.02 between two equally good models, more
    # than the gate's 0.01 tolerance).
    generate_corpus(max(int(base_notes * 1.4) + 20, 3200), seed, base_corpus)
    base_train = load_synthetic(base_corpus, split="train")[:base_notes]
    base_dir = train_model(
        base_train,
        work / "base-model",
        seed=seed,
        config={"ranker_iter": 80},
        data={"synthetic": {"path": str(base_corpus), "notes": len(base_train)}},
        progress=progress,
    )
    site_corpus = work / "site-corpus"
    generate_corpus(site_notes * 8, seed + 1000, site_corpus)
    pool = load_synthetic(site_corpus / "notes.jsonl")
    triggers = [n for n in pool if is_trigger(n)][: int(site_notes * 0.6)]
    others = [n for n in pool if not is_trigger(n)][: site_notes - len(triggers)]
    site = triggers + others
    t_inject = time.perf_counter()
    counts = _inject(base_dir, work / "data", site, habit)
    inject_s = time.perf_counter() - t_inject

    by_text = {n.text: n for n in site}
    from serving.db import make_engine, make_session_factory
    from serving.settings import Settings

    engine = make_engine(Settings(data_dir=work / "data").resolved_database_url)
    with make_session_factory(engine)() as session:
        records = corr.read_db(session)
    engine.dispose()
    held_out = [
        by_text[r["text"]]
        for r in records
        if corr.part_of(r["note_id"], EVAL_PERCENT) == "eval" and r["text"] in by_text
    ]
    held_trig = [n for n in held_out if is_trigger(n)]
    held_other = [n for n in held_out if not is_trigger(n)]

    result = run_retrain(
        RetrainOptions(
            data_dir=work / "data",
            out=work / "retrained",
            source="db",
            benchmark=base_corpus,
            benchmark_notes=BENCHMARK_NOTES,
            eval_percent=EVAL_PERCENT,
            target_share=TARGET_SHARE,
            seed=seed,
            progress=progress,
        )
    )
    before = pattern_rate(base_dir, held_trig, habit=habit)
    after = pattern_rate(result.out, held_trig, habit=habit)
    top10_before = pattern_rate(base_dir, held_trig, top=10, habit=habit)
    top10_after = pattern_rate(result.out, held_trig, top=10, habit=habit)
    spurious_before = pattern_rate(base_dir, held_other, habit=habit)
    spurious_after = pattern_rate(result.out, held_other, habit=habit)
    return {
        "pattern": f"site adds {habit[1]} on every {TRIGGER_PREFIX}.x (type 2 diabetes) note",
        "pattern_rate_before": round(before, 4),
        "pattern_rate_after": round(after, 4),
        "pattern_top10_before": round(top10_before, 4),
        "pattern_top10_after": round(top10_after, 4),
        "spurious_rate_before": round(spurious_before, 4),
        "spurious_rate_after": round(spurious_after, 4),
        "held_out_trigger_notes": len(held_trig),
        "held_out_other_notes": len(held_other),
        "benchmarks_before": result.old.get("benchmark", {}),
        "benchmarks_after": result.new.get("benchmark", {}),
        "corrections_eval_before": result.old.get("corrections_eval", {}),
        "corrections_eval_after": result.new.get("corrections_eval", {}),
        "promoted": result.promoted,
        "gate_reasons": result.reasons,
        "new_version": result.version,
        "reviews": counts,
        "base_training_notes": len(base_train),
        "inject_seconds": round(inject_s, 1),
        "retrain_train_seconds": round(result.train_seconds, 1),
        "retrain_total_seconds": round(result.total_seconds, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "work_dir": str(work),
    }


def format_result(result: dict[str, Any]) -> str:
    lines = [
        f"pattern: {result['pattern']}",
        f"pattern rate on {result['held_out_trigger_notes']} held-out notes: "
        f"{result['pattern_rate_before']:.3f} -> {result['pattern_rate_after']:.3f}",
        f"habit code in the top 10: {result['pattern_top10_before']:.3f} -> "
        f"{result['pattern_top10_after']:.3f}",
        f"spurious rate on {result['held_out_other_notes']} other held-out notes: "
        f"{result['spurious_rate_before']:.3f} -> {result['spurious_rate_after']:.3f}",
        "benchmark (MAP / accepted precision), before -> after:",
    ]
    for system, new in result["benchmarks_after"].items():
        old = result["benchmarks_before"].get(system, {})
        lines.append(
            f"  {system:<10} MAP {old.get('map', 0):.3f} -> {new['map']:.3f}   "
            f"acc-P {old.get('accepted_p', 0):.3f} -> {new['accepted_p']:.3f}"
        )
    lines.append(f"promoted: {result['promoted']}")
    lines += [f"  - {r}" for r in result["gate_reasons"]]
    lines.append(
        f"retrain: {result['retrain_total_seconds']} s (training {result['retrain_train_seconds']}"
        f" s); total {result['total_seconds']} s; work dir {result['work_dir']}"
    )
    return "\n".join(lines)
