"""Retrain from coder corrections, evaluate against the active version, gate the promotion.

    result = run_retrain(RetrainOptions(data_dir=..., out=..., source="db"))

Steps, in this order (nothing is registered until the last one):

1. take the retrain lock (`<data_dir>/retrain.lock`, created with O_EXCL; a second retrain is
   refused with `RetrainBusyError` naming the holder);
2. read reviewed cases (database export or JSONL) and split them by the frozen note-id hash
   (`training.corrections`);
3. reload the base version's training data from what its manifest records (synthetic corpus
   path and note count, CodiEsp path and splits), or the default synthetic corpus;
4. train on base notes + each training correction repeated k times (`choose_repeat`) into a
   temporary folder beside `out`, with the base version's training config; codes the site
   assigns but the base data never does (`site_only_codes`) get no negatives from base notes;
5. score the active version and the new one on the standard benchmark (a fixed synthetic test
   subset; site-only codes are not judged there, its gold never assigns them) and on the
   corrections' evaluation part; apply the gate (`training.gate`);
6. write `lineage.json`, `evaluation.json`, `report.md` and reliability diagrams into the new
   artifact, move it to `out`, register it, and activate it only if the gate passed.

A crash anywhere before step 6 leaves the registry and the active model untouched and removes the
temporary folder.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.datasets import LabeledNote, load_codiesp, load_synthetic
from training import corrections as corr
from training.gate import BENCHMARK, CORRECTIONS, decide, headline
from training.lock import RetrainError, retrain_lock
from training.retrain_report import render_report
from training.train import DEFAULT_CONFIG, corpus_hash, train_model

log = logging.getLogger(__name__)

ACTOR = "retrain"
DEFAULT_BENCHMARK_NOTES = 150
_PREDICT_META = ("setting", "specialty", "age", "sex", "date_of_service", "note_type")


@dataclass(slots=True)
class RetrainOptions:
    data_dir: Path
    out: Path
    source: str = "db"  # "db" or "jsonl"
    jsonl: Path | None = None
    since: dt.datetime | None = None
    base_version: str | None = None
    base_corpus: Path | None = None
    max_base_notes: int | None = None
    benchmark: Path | None = None
    benchmark_notes: int = DEFAULT_BENCHMARK_NOTES
    eval_percent: int = corr.EVAL_PERCENT
    target_share: float = 0.25
    repeat: int | None = None
    seed: int = 0
    database_url: str | None = None
    promote: bool = True
    progress: bool = True


@dataclass(slots=True)
class RetrainResult:
    version: str
    out: Path
    promoted: bool
    reasons: list[str]
    active_before: str
    lineage: dict[str, Any]
    old: dict[str, Any] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0
    total_seconds: float = 0.0


# ---------------------------------------------------------------------- data
def _load_base_data(
    manifest: dict[str, Any], opts: RetrainOptions
) -> tuple[list[LabeledNote], dict[str, Any], Path | None]:
    """(base training notes, description with hashes, synthetic corpus folder if any)."""
    recorded = manifest.get("training", {}).get("data", {}) or {}
    cap = opts.max_base_notes
    notes: list[LabeledNote] = []
    desc: dict[str, Any] = {}
    syn_dir: Path | None = None
    syn = recorded.get("synthetic") if isinstance(recorded.get("synthetic"), dict) else None
    if opts.base_corpus is not None:
        syn = {"path": str(opts.base_corpus), "notes": cap}
    if syn and syn.get("path"):
        root = Path(syn["path"])
        if not root.exists():
            raise RetrainError(
                f"the base model's synthetic corpus {root} is gone; give --base-corpus DIR"
            )
        loaded = (
            load_synthetic(root, split="train")
            if (root / "train.jsonl").is_file()
            else (load_synthetic(root))
        )
        limit = syn.get("notes") or cap or DEFAULT_CONFIG["max_synthetic_train"]
        if cap is not None:
            limit = min(limit, cap)
        loaded = loaded[:limit]
        notes.extend(loaded)
        syn_dir = root if root.is_dir() else root.parent
        desc["synthetic"] = {"path": str(root), "notes": len(loaded), "sha256": corpus_hash(loaded)}
    cod = recorded.get("codiesp") if isinstance(recorded.get("codiesp"), dict) else None
    if cod and cod.get("path") and opts.base_corpus is None:
        root = Path(cod["path"])
        loaded = []
        for split in cod.get("splits") or ["train"]:
            if not (root / split).is_dir():
                raise RetrainError(f"the base model's CodiEsp split {root / split} is gone")
            loaded.extend(load_codiesp(root / split))
        notes.extend(loaded)
        desc["codiesp"] = {
            "path": str(root),
            "splits": cod.get("splits"),
            "notes": len(loaded),
            "sha256": corpus_hash(loaded),
        }
    if not notes:
        # The base manifest records no corpus path: use the default synthetic corpus.
        from data.synthetic import generate_corpus
        from training.default import DEFAULT_SEED, DEFAULT_SYNTH_NOTES

        root = opts.data_dir / "synthetic-default"
        if not (root / "train.jsonl").is_file():
            log.info("generating the default synthetic corpus in %s", root)
            generate_corpus(DEFAULT_SYNTH_NOTES, DEFAULT_SEED, root)
        loaded = load_synthetic(root, split="train")
        loaded = loaded[: cap or DEFAULT_CONFIG["max_synthetic_train"]]
        notes.extend(loaded)
        syn_dir = root
        desc["synthetic"] = {"path": str(root), "notes": len(loaded), "sha256": corpus_hash(loaded)}
    return notes, desc, syn_dir


def _benchmark(
    opts: RetrainOptions, syn_dir: Path | None
) -> tuple[list[LabeledNote], dict[str, Any]]:
    root = opts.benchmark or syn_dir
    if root is None:
        return [], {}
    for split in ("test", "dev"):
        if (root / f"{split}.jsonl").is_file():
            notes = load_synthetic(root, split=split)[: opts.benchmark_notes]
            return notes, {
                "path": str(root),
                "split": split,
                "notes": len(notes),
                "sha256": corpus_hash(notes),
            }
    return [], {}


# ---------------------------------------------------------------------- evaluation
def _predict(suggester: Any, notes: Sequence[LabeledNote]) -> list[dict[str, Any]]:
    from model.text.note import Note

    out = []
    for n in notes:
        meta = {k: n.meta[k] for k in _PREDICT_META if k in n.meta}
        note = Note.create(n.text, id=n.id, meta=meta)
        out.append(suggester.suggest(note, top_k=30).to_dict())
    return out


def add_map_noise(
    new: dict[str, Any],
    old_ap: dict[str, dict[str, list[float | None]]],
    new_ap: dict[str, dict[str, list[float | None]]],
) -> None:
    """Put into `new[set][system]["map_se"]` the standard error of the paired MAP difference
    (new minus old, per note, on the same notes): what the gate's MAP tolerance must allow for."""
    for name, systems in new.items():
        for system, headline_ in systems.items():
            a = old_ap.get(name, {}).get(system)
            b = new_ap.get(name, {}).get(system)
            if not a or not b or len(a) != len(b):
                continue
            diffs = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
            if len(diffs) > 1:
                mean = sum(diffs) / len(diffs)
                var = sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)
                headline_["map_se"] = (var / len(diffs)) ** 0.5


def drop_unjudged(preds: list[dict[str, Any]], codes: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Predictions without `codes` (ranks renumbered), for a set whose gold never assigns them."""
    if not codes:
        return preds
    out = []
    for p in preds:
        kept = [c for c in p["codes"] if (c["system"], c["code"]) not in codes]
        out.append({**p, "codes": [{**c, "rank": i} for i, c in enumerate(kept, start=1)]})
    return out


def _score(
    model_dir: Path,
    sets: dict[str, list[LabeledNote]],
    out_dir: Path | None = None,
    unjudged: dict[str, set[tuple[str, str]]] | None = None,
    per_note: dict[str, dict[str, list[float | None]]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Headline metrics per set. `unjudged[name]`: codes that set's gold never assigns by
    design (the site-only codes, on the base benchmark): dropped from predictions there, since
    that set cannot tell whether they are right. `per_note` (filled when given): each set's
    per-note average precision by system, for the paired comparison of two versions."""
    from evaluation.harness import evaluate
    from evaluation.metrics import average_precisions
    from model.artifact import load_suggester

    suggester = load_suggester(model_dir)
    thresholds = suggester.manifest.get("thresholds")
    result: dict[str, Any] = {}
    diagrams: dict[str, str] = {}
    for name, notes in sets.items():
        if not notes:
            continue
        preds = drop_unjudged(_predict(suggester, notes), (unjudged or {}).get(name, set()))
        report = evaluate(preds, notes, threshold=thresholds, out_dir=out_dir, name=name)
        result[name] = headline(report)
        if per_note is not None:
            per_note[name] = {
                system: average_precisions(
                    [p["codes"] for p in preds], notes, None if system == "overall" else system
                )
                for system in result[name]
            }
        for key, path in (report.get("files") or {}).items():
            if key.startswith("reliability_png") and out_dir is not None:
                diagrams[f"{name} {key}"] = str(Path(path).relative_to(out_dir.parent))
    return result, diagrams


# ---------------------------------------------------------------------- the run
def _open_db(opts: RetrainOptions) -> tuple[Any, Any]:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from serving.db import make_engine, make_session_factory, migrate
    from serving.registry import ModelRegistry
    from serving.settings import Settings

    kwargs: dict[str, Any] = {"data_dir": opts.data_dir}
    if opts.database_url:
        kwargs["database_url"] = opts.database_url
    settings = Settings(**kwargs)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return make_session_factory(engine), ModelRegistry(settings.data_dir / "models")


def run_retrain(opts: RetrainOptions) -> RetrainResult:
    """Retrain, evaluate, gate, register (and activate if the gate passed). See module doc."""
    opts.data_dir = Path(opts.data_dir)
    opts.out = Path(opts.out)
    if opts.out.exists():
        raise RetrainError(f"--out {opts.out} already exists; choose a new folder")
    if opts.source not in ("db", "jsonl"):
        raise RetrainError(f"source must be 'db' or 'jsonl'; got {opts.source!r}")
    if opts.source == "jsonl" and opts.jsonl is None:
        raise RetrainError("--from-jsonl needs a file")
    started = time.perf_counter()
    with retrain_lock(opts.data_dir):
        return _run_locked(opts, started)


def _run_locked(opts: RetrainOptions, started: float) -> RetrainResult:
    from serving.registry import ModelNotFoundError
    from serving.services import models as service

    factory, registry = _open_db(opts)
    with factory() as session:
        active = service.active_version(session)
        base = opts.base_version or active
        if base is None:
            raise RetrainError("no active model and no --base VERSION: nothing to start from")
        old_version = active or base
        try:
            base_path = Path(service.get_version(session, base).path)
            old_path = Path(service.get_version(session, old_version).path)
        except ModelNotFoundError as exc:
            raise RetrainError(f"--base: {exc}") from None
        if opts.source == "db":
            records = corr.read_db(session, since=opts.since)
            source = "database"
        else:
            assert opts.jsonl is not None
            records = corr.read_jsonl(opts.jsonl)
            source = f"jsonl:{opts.jsonl}"
    cset = corr.build_correction_set(records, eval_percent=opts.eval_percent)
    if not cset.train:
        raise RetrainError(
            f"no reviewed cases in the training part ({len(cset.examples)} reviewed cases, "
            f"{len(cset.eval)} in the frozen evaluation part): review more cases first"
        )
    base_manifest = json.loads((base_path / "manifest.json").read_text(encoding="utf-8"))
    base_notes, base_desc, syn_dir = _load_base_data(base_manifest, opts)
    bench_notes, bench_desc = _benchmark(opts, syn_dir)
    repeat = opts.repeat or corr.choose_repeat(
        len(base_notes), len(cset.train), target_share=opts.target_share
    )
    train_notes = corr.weighted_training_notes(base_notes, cset.train, repeat)
    site_codes = corr.site_only_codes(base_notes, cset.train)
    unlabeled = [site_codes] * len(base_notes) + [set()] * (len(train_notes) - len(base_notes))
    summary = cset.summary()
    corrections_desc = {
        "source": source,
        "since": opts.since.isoformat() if opts.since else None,
        **summary,
        "sha256_train": corr.hash_examples(cset.train),
        "sha256_eval": corr.hash_examples(cset.eval),
        "suggestion_set_ids": sorted(e.suggestion_set_id for e in cset.examples),
    }
    n_weighted = len(cset.train) * repeat
    weighting = {
        "repeat": repeat,
        "target_share": opts.target_share,
        "base_notes": len(base_notes),
        "correction_notes": len(cset.train),
        "correction_share": n_weighted / max(1, len(train_notes)),
        "site_only_codes": [f"{system} {code}" for system, code in sorted(site_codes)],
    }
    data = {
        **base_desc,
        "base_version": base,
        "corrections": {
            k: corrections_desc[k]
            for k in (
                "source",
                "since",
                "train_cases",
                "eval_cases",
                "review_ids_train",
                "sha256_train",
                "sha256_eval",
            )
        },
        "weighting": weighting,
    }
    config = dict(base_manifest.get("training", {}).get("config") or {})
    config.pop("seed", None)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{opts.out.name}.retrain-", dir=opts.out.parent))
    try:
        t0 = time.perf_counter()
        artifact = train_model(
            train_notes,
            tmp / "artifact",
            seed=opts.seed,
            config=config,
            data=data,
            progress=opts.progress,
            unlabeled=unlabeled,
        )
        train_seconds = time.perf_counter() - t0
        version = json.loads((artifact / "manifest.json").read_text())["version"]
        sets = {BENCHMARK: bench_notes, CORRECTIONS: [e.note for e in cset.eval]}
        unjudged = {BENCHMARK: site_codes}
        old_ap: dict[str, dict[str, list[float | None]]] = {}
        new_ap: dict[str, dict[str, list[float | None]]] = {}
        old, _ = _score(old_path, sets, unjudged=unjudged, per_note=old_ap)
        new, diagrams = _score(
            artifact, sets, out_dir=artifact / "evaluation", unjudged=unjudged, per_note=new_ap
        )
        add_map_noise(new, old_ap, new_ap)
        gate = decide(old, new)
        lineage = {
            "version": version,
            "base_version": base,
            "active_version_at_start": active,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "corrections": corrections_desc,
            "weighting": weighting,
            "base_data": base_desc,
            "benchmark": bench_desc,
            "seed": opts.seed,
            "train_seconds": round(train_seconds, 1),
        }
        sizes = {name: len(notes) for name, notes in sets.items()}
        (artifact / "lineage.json").write_text(json.dumps(lineage, indent=2), encoding="utf-8")
        (artifact / "evaluation.json").write_text(
            json.dumps(
                {"active": old_version, "old": old, "new": new, "gate": gate.to_dict()}, indent=2
            ),
            encoding="utf-8",
        )
        (artifact / "report.md").write_text(
            render_report(
                version=version,
                lineage=lineage,
                old_version=old_version,
                old=old,
                new=new,
                gate=gate.to_dict(),
                sizes=sizes,
                diagrams=diagrams,
            ),
            encoding="utf-8",
        )
        artifact.rename(opts.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    reasons = list(gate.reasons)
    promoted = False
    with factory() as session:
        service.register(session, opts.out, models_dir=registry.models_dir, actor=ACTOR)
        session.commit()
        if gate.promote and opts.promote:
            from serving.errors import ServiceError

            try:
                service.activate(session, registry, version, actor=ACTOR)
                promoted = True
            except ServiceError as exc:
                reasons.append(f"activation failed: {exc}")
        elif gate.promote:
            reasons.append("gate passed but promotion was disabled (--no-promote)")
    log.info("retrained %s: %s", version, "promoted" if promoted else "registered only")
    return RetrainResult(
        version=version,
        out=opts.out,
        promoted=promoted,
        reasons=reasons,
        active_before=old_version,
        lineage=lineage,
        old=old,
        new=new,
        train_seconds=train_seconds,
        total_seconds=time.perf_counter() - started,
    )
