"""Train a v1 model from the synthetic corpus, CodiEsp, or both, and write its artifact."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from evaluation.datasets import LabeledNote, load_codiesp, load_synthetic
from model.artifact import save_artifact
from model.text.note import Note

log = logging.getLogger(__name__)

DEFAULT_CONFIG: dict[str, Any] = {
    "folds": 3,
    "max_ranker_pairs": 200_000,
    "calibration_share": 0.2,
    "lr_alpha": 1.0,
    "lr_min_examples": 2,
    "ranker_iter": 200,
    "accept_precision": 0.95,
    "ranker_folds": 3,
    "max_synthetic_train": 4000,
    "max_eval_notes": 300,
    # Share of gold mentions renamed with another name of their code (training/augment.py);
    # used only for notes with evidence offsets (the synthetic corpus, CodiEsp's gold sentences).
    "phrasing_augment": 0.5,
    # Share of notes that also give a short excerpt as a training note (training/augment.py);
    # notes with evidence offsets only.
    "excerpt_augment": 0.25,
}


class TrainingError(ValueError):
    """Bad training input (missing corpus, empty corpus, unknown split)."""


def _progress(enabled: bool) -> Any:
    def wrap(it: Iterable[Any], desc: str, total: int) -> Iterable[Any]:
        return tqdm(it, desc=desc, total=total, disable=not enabled, leave=False)

    return wrap


def corpus_hash(notes: Sequence[LabeledNote]) -> str:
    h = hashlib.sha256()
    for n in notes:
        h.update(n.id.encode())
        h.update(hashlib.sha256(n.text.encode()).digest())
        for c in sorted((g.system, g.code) for g in n.codes):
            h.update(f"{c[0]}|{c[1]}".encode())
    return h.hexdigest()


def load_corpora(
    synthetic: str | Path | None,
    codiesp: str | Path | None,
    codiesp_splits: Sequence[str] | None,
    *,
    max_synthetic: int | None,
) -> tuple[list[LabeledNote], list[LabeledNote], dict[str, Any]]:
    """(training notes, held-out evaluation notes, description of the data used)."""
    train: list[LabeledNote] = []
    held_out: list[LabeledNote] = []
    data: dict[str, Any] = {}
    if synthetic is not None:
        root = Path(synthetic)
        if not root.exists():
            raise TrainingError(f"--synthetic {root}: no such file or folder")
        if root.is_dir() and (root / "train.jsonl").is_file():
            syn_train = load_synthetic(root, split="train")
            if (root / "dev.jsonl").is_file():
                held_out = load_synthetic(root, split="dev")
        else:
            syn_train = load_synthetic(root)
        if max_synthetic is not None and len(syn_train) > max_synthetic:
            syn_train = syn_train[:max_synthetic]
        train.extend(syn_train)
        data["synthetic"] = {
            "path": str(root),
            "notes": len(syn_train),
            "sha256": corpus_hash(syn_train),
        }
    if codiesp is not None:
        root = Path(codiesp)
        splits = (
            list(codiesp_splits)
            if codiesp_splits
            else [s for s in ("train", "dev") if (root / s).is_dir()]
        )
        if not splits:
            raise TrainingError(f"--codiesp {root}: no train/ or dev/ folder found")
        cod: list[LabeledNote] = []
        for split in splits:
            if not (root / split).is_dir():
                raise TrainingError(f"--codiesp {root}: split {split!r} not found")
            cod.extend(load_codiesp(root / split))
        train.extend(cod)
        data["codiesp"] = {
            "path": str(root),
            "splits": splits,
            "notes": len(cod),
            "sha256": corpus_hash(cod),
        }
    if not train:
        raise TrainingError("no training notes: give --synthetic and/or --codiesp")
    return train, held_out, data


def synthetic_split(root: str | Path | None, split: str) -> list[LabeledNote]:
    """The notes of one split of a synthetic corpus folder; [] when it has no such file."""
    if root is None or not (Path(root) / f"{split}.jsonl").is_file():
        return []
    return load_synthetic(root, split=split)


def train_model(
    train: Sequence[LabeledNote],
    out_dir: str | Path,
    *,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    eval_notes: Sequence[LabeledNote] = (),
    progress: bool = True,
    unlabeled: Sequence[set[tuple[str, str]]] | None = None,
    calibration_notes: Sequence[LabeledNote] = (),
) -> Path:
    """Fit a v1 model on `train`, evaluate on `eval_notes` if any, write the artifact.

    With `calibration_notes` (a validation split the model does not learn from), calibration,
    thresholds and the accepted band are fitted on them (`V1Model.calibrate_on`) instead of on
    the training notes' out-of-fold scores."""
    from model.codesets import get_catalog

    cfg = {**DEFAULT_CONFIG, **(config or {}), "seed": seed}
    catalog = get_catalog()
    estimator = fit_v1(
        train,
        catalog=catalog,
        config=cfg,
        seed=seed,
        unlabeled=unlabeled,
        progress=progress,
        calibrate_later=bool(calibration_notes),
    )
    if calibration_notes:
        texts, settings, labels, extra = note_columns(calibration_notes)
        estimator.calibrate_on(
            texts, settings, labels, catalog=catalog, progress=_progress(progress), **extra
        )
        data = dict(data or {"notes": len(train), "sha256": corpus_hash(train)})
        data["calibration"] = {
            "notes": len(calibration_notes),
            "sha256": corpus_hash(calibration_notes),
        }
    return evaluate_and_save(
        estimator, "v1", out_dir, cfg, data, train, eval_notes, catalog, progress=progress
    )


def fit_v1(
    train: Sequence[LabeledNote],
    *,
    catalog: Any,
    config: dict[str, Any] | None = None,
    seed: int = 0,
    unlabeled: Sequence[set[tuple[str, str]]] | None = None,
    progress: bool = True,
    calibrate_later: bool = False,
) -> Any:
    """A fitted `V1Model`: the training recipe of a standalone v1 model (phrasing and excerpt
    augmentation where the notes carry evidence offsets, folds grouped by synthetic template),
    shared by `train_model` and the v1 model inside v2. `calibrate_later`: the caller calibrates
    it on validation notes next (`V1Model.fit`)."""
    from model.v1.model import V1Model

    cfg = {**DEFAULT_CONFIG, **(config or {})}
    estimator = V1Model(
        folds=cfg["folds"],
        max_ranker_pairs=cfg["max_ranker_pairs"],
        calibration_share=cfg["calibration_share"],
        lr_alpha=cfg["lr_alpha"],
        lr_min_examples=cfg["lr_min_examples"],
        ranker_iter=cfg["ranker_iter"],
        accept_precision=cfg["accept_precision"],
        ranker_folds=cfg["ranker_folds"],
        seed=seed,
    )
    fit_notes = list(train)
    added = augmented_notes(train, catalog=catalog, config=cfg, seed=seed)
    # A note repeated for weight (a coder's correction at retraining) is calibrated on once: its
    # copies would count as independent evidence for the accepted band.
    seen: set[str] = set()
    calibrate: list[bool] = []
    for note in train:
        calibrate.append(note.id not in seen)
        seen.add(note.id)
    if added:
        fit_notes += [note for _, note in added]
        calibrate += [False] * len(added)
        if unlabeled is not None:  # an added note's source never assigns what its note never does
            unlabeled = [*unlabeled, *(unlabeled[i] for i, _ in added)]
    texts, settings, labels, extra = note_columns(fit_notes)
    estimator.fit(
        texts,
        settings,
        labels,
        catalog=catalog,
        # Cross-fitting and the calibration hold-out split by group: a synthetic template's notes
        # stay together, so out-of-fold features and calibration see wording as new as a real
        # note's (measured on synthetic dev: CPT F1 at threshold 0.57 -> 0.67, ICD 0.52 -> 0.54).
        note_keys=[n.group or n.id for n in fit_notes],
        unlabeled=unlabeled,
        calibrate=calibrate,
        sources=[n.source for n in fit_notes],
        calibrate_later=calibrate_later,
        progress=_progress(progress),
        **extra,
    )
    return estimator


def augmented_notes(
    train: Sequence[LabeledNote], *, catalog: Any, config: dict[str, Any], seed: int
) -> list[tuple[int, LabeledNote]]:
    """The training-only notes v1 adds to `train` (they take no part in calibration), each with
    the index of the note it was made from and in that note's group: phrasing rewrites and
    excerpts (`training.augment`), made where the notes carry evidence offsets."""
    added: list[tuple[int, LabeledNote]] = []
    # Both augmentations need evidence offsets (the synthetic corpus, CodiEsp's sentences).
    has_offsets = any(g.evidence for n in train for g in n.codes)
    if has_offsets and config["phrasing_augment"] > 0:
        from model.v1.em import em_codes
        from training.augment import augment_phrasings, code_names

        rephrased = augment_phrasings(
            train,
            code_names(catalog),
            rate=float(config["phrasing_augment"]),
            seed=seed,
            skip_codes=em_codes(),
        )
        # The rewritten notes are added beside the notes as written, in their note's fold, and
        # only the notes as written are calibrated on: a rewritten note names its gold codes in
        # the dictionary's own words, so its pairs are easier than a real note's (calibrated on
        # them, the CodiEsp + synthetic v1's CodiEsp band was 0.967 precise out of fold and
        # 0.902 on dev).
        added += [
            (i, replace(r, id=f"{r.id}#rephrased", group=r.group or r.id))
            for i, (r, n) in enumerate(zip(rephrased, train, strict=True))
            if r is not n
        ]
    if has_offsets and config["excerpt_augment"] > 0:
        from model.v1.em import em_codes
        from training.augment import excerpt_notes

        added += excerpt_notes(
            train, rate=float(config["excerpt_augment"]), seed=seed, whole_codes=em_codes()
        )
    return added


def evaluate_and_save(
    estimator: Any,
    prefix: str,
    out_dir: str | Path,
    cfg: dict[str, Any],
    data: dict[str, Any] | None,
    train: Sequence[LabeledNote],
    eval_notes: Sequence[LabeledNote],
    catalog: Any,
    *,
    progress: bool,
) -> Path:
    """Version a fitted estimator (`<prefix>-<UTC minute>-<hash of config and data>`), evaluate
    it on `eval_notes` if any, and write its artifact."""
    data = data or {"notes": len(train), "sha256": corpus_hash(train)}
    digest = hashlib.sha256(
        json.dumps({"cfg": cfg, "data": data}, sort_keys=True, default=str).encode()
    ).hexdigest()[:8]
    version = f"{prefix}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M}-{digest}"
    evaluation: dict[str, Any] | None = None
    report_md: str | None = None
    if eval_notes:
        evaluation, report_md = _evaluate(estimator, version, eval_notes, cfg, progress)
    return save_artifact(
        estimator,
        out_dir,
        version=version,
        config=cfg,
        code_sets=dict(catalog.release),
        data=data,
        evaluation=evaluation,
        report_md=report_md,
    )


def _evaluate(
    estimator: Any,
    version: str,
    notes: Sequence[LabeledNote],
    cfg: dict[str, Any],
    progress: bool,
) -> tuple[dict[str, Any], str]:
    from evaluation.harness import evaluate, format_table

    notes = list(notes)[: cfg["max_eval_notes"]]
    preds = []
    for n in tqdm(notes, desc="evaluating", disable=not progress, leave=False):
        note = Note.create(n.text, id=n.id, meta=_meta(n.meta))
        preds.append(estimator.suggest_note(note, model_version=version).to_dict())
    report = evaluate(preds, notes, threshold=estimator.ranker_.thresholds_, name="held_out")
    table = format_table(report)
    splits = sorted({str(n.meta.get("split") or "") for n in notes} - {""})
    where = f"split {', '.join(splits)}" if splits else "held-out notes"
    md = (
        f"# Model {version}\n\nHeld-out evaluation on {len(notes)} notes ({where}; the model "
        f"learnt from none of them).\n\n```\n{table}\n```\n"
    )
    return report, md


def _meta(raw: dict[str, Any]) -> dict[str, Any]:
    keep: dict[str, Any] = {
        k: raw[k]
        for k in ("setting", "specialty", "age", "sex", "date_of_service", "note_type")
        if k in raw
    }
    return keep


def note_columns(
    notes: Sequence[LabeledNote],
) -> tuple[list[str], list[str | None], list[set[tuple[str, str]]], dict[str, list[Any]]]:
    """What the models' `fit` and `calibrate_on` take from labelled notes: texts, settings, gold
    (system, code) sets, and the keyword columns `ages` and `note_types`."""
    return (
        [n.text for n in notes],
        [n.meta.get("setting") for n in notes],
        [{(c.system, c.code) for c in n.codes} for n in notes],
        {
            "ages": [_age(n.meta.get("age")) for n in notes],
            "note_types": [_text(n.meta.get("note_type")) for n in notes],
        },
    )


def _age(raw: Any) -> int | None:
    """The patient's age in years from note metadata, when it holds a usable number."""
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def _text(raw: Any) -> str | None:
    return str(raw) if raw is not None else None
