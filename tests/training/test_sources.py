"""What v1 calibrates on: each source corpus must certify the accepted band, and a repeated
note counts once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from evaluation.datasets import load_synthetic
from model.codesets import get_catalog
from training.train import fit_v1


def test_a_corpus_whose_band_fails_leaves_the_system_without_one(
    synthetic_corpus_dir: Path,
) -> None:
    """Forty notes of a second corpus carry another note's codes (as if coded carelessly). The
    200 well-coded notes alone certify an ICD-10-CM band; with the careless ones, their corpus
    counts for the band and certifies none, so v1 accepts no ICD-10-CM code rather than vouch
    for a band that fails there. (The per-source rule on its own, with pooled levels that stay
    above the target, is tested in tests/model/v1/test_ranker.py.)"""
    notes = load_synthetic(synthetic_corpus_dir, split="train")[:240]
    assert {n.source for n in notes} == {"synthetic"}
    careless = [
        dataclasses.replace(n, codes=notes[200 + (k + 7) % 40].codes, source="careless")
        for k, n in enumerate(notes[200:])
    ]
    config = {"ranker_iter": 40, "phrasing_augment": 0, "excerpt_augment": 0}
    alone = fit_v1(notes[:200], catalog=get_catalog(), config=config, seed=2, progress=False)
    assert alone.ranker_.accept_thresholds_["ICD-10-CM"] < 1.0
    model = fit_v1(
        notes[:200] + careless, catalog=get_catalog(), config=config, seed=2, progress=False
    )
    icd = model.ranker_.validation_["ICD-10-CM"]
    assert set(icd["sources"]) == {"synthetic", "careless"}
    assert icd["sources"]["careless"]["positives"] >= 20
    assert icd["sources"]["careless"]["accept_threshold"] == 1.01
    assert model.ranker_.accept_thresholds_["ICD-10-CM"] == 1.01
    assert icd["accepted_pairs"] == 0


def test_a_note_repeated_for_weight_is_calibrated_on_once(synthetic_corpus_dir: Path) -> None:
    """Retraining repeats each coder correction to weight it; the copies train the model but
    would count as independent evidence for the accepted band, so only the first calibrates."""
    notes = load_synthetic(synthetic_corpus_dir, split="train")[:60]
    site = [dataclasses.replace(n, id=f"corr-{n.id}", source="site") for n in notes[:10]]
    model = fit_v1(
        notes + site * 3,
        catalog=get_catalog(),
        config={"ranker_iter": 20, "phrasing_augment": 0, "excerpt_augment": 0},
        seed=2,
        progress=False,
    )
    stats = model.training_stats_
    assert stats["notes"] == 90
    assert stats["calibration_notes"] == 70
