"""The default model: trained from the project's own synthetic corpus when none is present."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from model.artifact import MANIFEST, StaleArtifactError, load_suggester, read_manifest

log = logging.getLogger(__name__)

DEFAULT_SYNTH_NOTES = 6000
DEFAULT_SEED = 7


def ensure_default_model(model_dir: str | Path, *, progress: bool = True) -> Path:
    """Return `model_dir`, training it first (synthetic corpus, seed 7) if it holds no model or
    a model an older chartcoder trained on another feature set."""
    out = Path(model_dir)
    if (out / MANIFEST).is_file():
        from model.v1.features import FEATURE_NAMES

        if read_manifest(out).get("ranker_features") == len(FEATURE_NAMES):
            return out  # current: the caller loads it once
        try:
            load_suggester(out)  # a manifest without the count: only loading can tell
            return out
        except StaleArtifactError as exc:
            # The default model is ours to retrain: one from an older chartcoder is replaced.
            log.warning("retraining the default model: %s", exc)
    from data.synthetic import GENERATOR_VERSION, generate_corpus
    from evaluation.datasets import load_synthetic
    from training.train import DEFAULT_CONFIG, train_model

    corpus = out.parent / "synthetic-default"
    if not (corpus / "train.jsonl").is_file() or corpus_version(corpus) != GENERATOR_VERSION:
        log.info("generating the synthetic training corpus in %s", corpus)
        generate_corpus(DEFAULT_SYNTH_NOTES, DEFAULT_SEED, corpus)
    train = load_synthetic(corpus, split="train")[: DEFAULT_CONFIG["max_synthetic_train"]]
    dev = load_synthetic(corpus, split="dev")
    test = load_synthetic(corpus, split="test")
    log.info("training the default model on %d synthetic notes into %s", len(train), out)
    # Calibrated on the dev split (held-out templates and phrasings), reported on test.
    return train_model(
        train,
        out,
        seed=DEFAULT_SEED,
        data={"synthetic": {"path": str(corpus), "notes": len(train)}},
        eval_notes=test,
        calibration_notes=dev,
        progress=progress,
    )


def corpus_version(corpus: Path) -> str | None:
    """The generator version a corpus folder was written by (its `stats.json`), or None."""
    try:
        stats = json.loads((corpus / "stats.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    version = stats.get("generator_version") if isinstance(stats, dict) else None
    return str(version) if version is not None else None
