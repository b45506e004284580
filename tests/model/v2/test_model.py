"""The fitted v2 model: the suggestion contract, zero-shot candidates, evidence offsets, the
artifact round trip and the CLI's `--arch` option."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from chartcoder.cli import app
from model.artifact import load_suggester, read_manifest, save_artifact
from model.text.note import Note
from model.text.sentences import split_sentences
from model.v2.model import V2Model, network_epochs
from model.v2.stacker import STACK_FEATURES

NOTE = (
    "CHIEF COMPLAINT: follow-up of blood pressure and diabetes.\n"
    "HPI: 62 yo man with HTN and type 2 diabetes mellitus. Denies chest pain.\n"
    "ASSESSMENT AND PLAN:\n"
    "1. Essential hypertension - continue lisinopril.\n"
    "2. Acute gouty arthritis of the left great toe - start colchicine.\n"
    "3. Type 2 diabetes mellitus without complications - A1c today.\n"
)


def test_v2_fit_trains_the_network(fitted_v2: V2Model) -> None:
    stats = fitted_v2.training_stats_
    losses = stats["network"]["epoch_loss"]
    assert losses[-1] < losses[0]
    assert stats["stacking_notes"] > 0 and stats["stacking_positive_pairs"] > 0
    assert set(fitted_v2.ranker_.thresholds_) == {"ICD-10-CM", "CPT", "HCPCS"}
    contested = stats["stacker_contested"]
    assert contested["category"] == fitted_v2.ranker_.contested_
    assert contested["neighbourhood"] == fitted_v2.ranker_.contested_near_


def test_v2_suggestion_contract_and_evidence_offsets(fitted_v2: V2Model) -> None:
    note = Note.create(NOTE, id="n1", meta={"setting": "outpatient"})
    out = fitted_v2.suggest_note(note, model_version="v2-test", top_k=10)
    assert out.note_id == "n1" and out.codes
    sentences = split_sentences(NOTE)
    for system in {c.system for c in out.codes}:
        codes = [c for c in out.codes if c.system == system]
        assert len(codes) <= 10
    ranks = [c.rank for c in out.codes]
    assert ranks == list(range(1, len(ranks) + 1))
    for c in out.codes:
        assert 0.0 <= c.score <= 1.0
        assert 1 <= len(c.evidence) <= 3
        for e in c.evidence:
            assert NOTE[e.start : e.end] == e.text
            assert any(s.start <= e.start and e.end <= s.end for s in sentences)
    only_cpt = fitted_v2.suggest_note(note, model_version="v2-test", systems=["CPT"], top_k=5)
    assert {c.system for c in only_cpt.codes} <= {"CPT"}


def test_v2_evidence_for_a_code_the_text_names_is_v1s_statement(fitted_v2: V2Model) -> None:
    """Where v1 finds the code stated (a full mention), the statement is the evidence; the
    network's attributions are for the codes nothing in the text states."""
    note = Note.create(NOTE, id="n1", meta={"setting": "outpatient"})
    inner = {
        (c.system, c.code): c
        for c in fitted_v2.v1_.suggest_note(note, model_version="v1", top_k=60).codes
    }
    named = {code for code, c in inner.items() if c.named}
    assert named, "the test note states some code in full"
    out = fitted_v2.suggest_note(note, model_version="v2-test", top_k=30)
    checked = 0
    for c in out.codes:
        if (c.system, c.code) in named:
            assert c.evidence == inner[(c.system, c.code)].evidence
            checked += 1
    assert checked
    # the flag stays out of the JSON contract
    assert "named" not in out.codes[0].to_dict()


def test_v2_falls_back_to_v1s_certified_band_where_it_has_none(fitted_v2: V2Model) -> None:
    """A system the stacking notes could not certify (accept threshold 1.01) accepts the codes
    v1 accepted; a certified system keeps its own band."""
    import copy

    note = Note.create(NOTE, id="n1", meta={"setting": "outpatient"})
    model = copy.copy(fitted_v2)
    model.v1_ = copy.copy(fitted_v2.v1_)
    model.v1_.ranker_ = copy.copy(fitted_v2.v1_.ranker_)
    # v1 certified for ICD-10-CM only (the tiny fixture's own bands accept nothing)
    model.v1_.ranker_.accept_thresholds_ = {"ICD-10-CM": 0.0, "CPT": 1.01, "HCPCS": 1.01}
    v1_out = model.v1_.suggest_note(note, model_version="v1", top_k=60)
    v1_accepted = {(c.system, c.code) for c in v1_out.codes if c.accepted}
    assert v1_accepted and {s for s, _ in v1_accepted} == {"ICD-10-CM"}
    model.ranker_ = copy.copy(fitted_v2.ranker_)
    model.ranker_.accept_thresholds_ = dict.fromkeys(("ICD-10-CM", "CPT", "HCPCS"), 1.01)
    out = model.suggest_note(note, model_version="v2-test", top_k=30)
    accepted = {(c.system, c.code) for c in out.codes if c.accepted}
    listed = {(c.system, c.code) for c in out.codes}
    assert accepted and accepted <= v1_accepted & listed
    model.ranker_.accept_thresholds_ = dict.fromkeys(("ICD-10-CM", "CPT", "HCPCS"), 0.0)
    everything = model.suggest_note(note, model_version="v2-test", top_k=30)
    assert sum(c.accepted for c in everything.codes) >= len(accepted)


def test_v2_withholds_accepted_from_contested_icd_codes(fitted_v2: V2Model) -> None:
    """The stacker's contested levels apply as v1's do: with every band open and a level every
    scored rival reaches, no accepted ICD-10-CM code has a rival of its category in the list."""
    import copy

    note = Note.create(NOTE, id="n1", meta={"setting": "outpatient"})
    model = copy.copy(fitted_v2)
    model.ranker_ = copy.copy(fitted_v2.ranker_)
    model.ranker_.accept_thresholds_ = dict.fromkeys(("ICD-10-CM", "CPT", "HCPCS"), 0.0)
    model.ranker_.contested_, model.ranker_.contested_near_ = 1.01, 1.01
    open_out = model.suggest_note(note, model_version="v2-test", top_k=30)
    icd = [(c.code, c.score) for c in open_out.codes if c.system == "ICD-10-CM"]
    level = 1e-6
    rivalled = {c for c, _ in icd if any(o != c and o[:3] == c[:3] and s >= level for o, s in icd)}
    assert rivalled, "the note's list holds two scored codes of one category"
    assert rivalled & {c.code for c in open_out.codes if c.accepted}
    model.ranker_.contested_ = level
    out = model.suggest_note(note, model_version="v2-test", top_k=30)
    accepted = {c.code for c in out.codes if c.system == "ICD-10-CM" and c.accepted}
    assert accepted and not accepted & rivalled
    del model.ranker_.contested_, model.ranker_.contested_near_  # an earlier artifact's stacker
    old = model.suggest_note(note, model_version="v2-test", top_k=30)
    assert [c.accepted for c in old.codes] == [c.accepted for c in open_out.codes]


def test_v2_scores_codes_without_training_examples(fitted_v2: V2Model) -> None:
    """v1's candidates the network never trained on get a real, description-driven network score
    (the head's shared part), not a constant."""
    note = Note.create(NOTE, id="n2")
    X, cands, _, _ = fitted_v2._candidates(note, fitted_v2.v1_, None)
    assert X.shape == (len(cands), len(STACK_FEATURES))
    trained = X[:, STACK_FEATURES.index("trained")] == 1
    unseen = ~trained
    assert unseen.sum() >= 2, "the test note should draw candidates outside the trained labels"
    v2 = X[unseen, STACK_FEATURES.index("v2_logit")]
    assert np.isfinite(v2).all() and np.ptp(v2) > 0
    # The score is the head's on the code's own description embedding (no residual).
    code = cands[int(np.nonzero(unseen)[0][0])]
    net = fitted_v2.network_
    states = net.encode(net.chunk(net.tokenize(NOTE)[0]))
    direct = net.score(states, fitted_v2._embeddings([code]), torch.tensor([-1]))
    assert float(direct[0]) == pytest.approx(float(v2[0]), abs=1e-4)


def test_v2_with_a_stacker_of_another_feature_set_is_refused(fitted_v2: V2Model) -> None:
    fitted_v2.check_compatible()
    gbm = fitted_v2.ranker_.gbm_
    real = gbm.n_features_in_
    try:
        gbm.n_features_in_ = real + 1  # as an artifact from a version with another feature set
        with pytest.raises(ValueError, match="stacker was trained on"):
            fitted_v2.check_compatible()
    finally:
        gbm.n_features_in_ = real


def test_v2_artifact_round_trip(fitted_v2: V2Model, tmp_path: Path) -> None:
    note = Note.create(NOTE, id="n3")
    before = fitted_v2.suggest_note(note, model_version="v2-rt").to_dict()
    out = save_artifact(
        fitted_v2,
        tmp_path / "m",
        version="v2-rt",
        config={"arch": "v2"},
        code_sets={},
        data={"notes": 90},
    )
    manifest = read_manifest(out)
    assert manifest["model_type"] == "chartcoder-v2"
    assert set(manifest["accept_thresholds"]) == {"ICD-10-CM", "CPT", "HCPCS"}
    after = load_suggester(out).suggest(note).to_dict()
    assert [(c["code"], c["evidence"]) for c in after["codes"]] == [
        (c["code"], c["evidence"]) for c in before["codes"]
    ]
    assert [c["score"] for c in after["codes"]] == pytest.approx(
        [c["score"] for c in before["codes"]], abs=1e-6
    )
    assert NOTE[:40] not in (out / "model.joblib").read_bytes().decode("latin-1")


def test_v2_rejects_lazy_embeddings_with_fine_tuned_layers() -> None:
    with pytest.raises(ValueError, match="train_layers=0"):
        V2Model(code_embeddings="lazy", train_layers=1).fit(
            ["a"] * 10, [None] * 10, [set()] * 10, catalog=None
        )


def test_cli_train_rejects_an_unknown_arch(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--arch", "v3", "--synthetic", str(tmp_path), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2
    assert "--arch" in result.output and "'v3'" in result.output
    assert not (tmp_path / "m").exists()


def test_cli_train_quick_needs_v2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train", "--quick", "--synthetic", str(tmp_path), "--out", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "--quick" in result.output


def test_training_config_rejects_unknown_keys() -> None:
    from training.train_v2 import resolve_config

    assert resolve_config(quick=True)["train_layers"] == 0
    with pytest.raises(ValueError, match="epochz"):
        resolve_config(overrides={"epochz": 3})
    assert json.loads(json.dumps(resolve_config()))["v1"]["folds"] >= 2


def test_network_epochs_cap_the_notes_read_but_keep_two_epochs() -> None:
    assert network_epochs(8, 3200, 376) == 8  # CodiEsp train's network notes: uncapped
    assert network_epochs(8, 3200, 836) == 3  # CodiEsp + synthetic: 2,508 notes read
    assert network_epochs(8, 3200, 5000) == 2  # never fewer than 2 ...
    assert network_epochs(1, 3200, 5000) == 1  # ... unless fewer were asked for
    assert network_epochs(8, None, 10**6) == 8
    for bad in ((0, 10, 10), (8, 0, 10), (8, 10, 0)):
        with pytest.raises(ValueError, match=">= 1"):
            network_epochs(*bad)


def test_v2_held_out_stacking_notes_and_a_network_subset(tiny_encoder_dir: Path, v2_corpus) -> None:  # type: ignore[no-untyped-def]
    """Given held-out stacking notes (a corpus's dev split), neither model trains on them and
    the served v1 is the one fitted on the other notes; the network trains on its subset only."""
    from model.codesets import get_catalog

    notes = v2_corpus[:70]
    stack = [i >= 50 for i in range(len(notes))]
    network = [i < 30 for i in range(len(notes))]
    model = V2Model(
        encoder_path=str(tiny_encoder_dir), chunk_size=64, max_chunks=4, train_layers=0,
        epochs=1, code_embeddings="lazy", stacker_iter=10, seed=1,
        v1_params={"folds": 2, "ranker_iter": 10},
    )  # fmt: skip
    model.fit(
        [n.text for n in notes],
        [n.meta.get("setting") for n in notes],
        [{(c.system, c.code) for c in n.codes} for n in notes],
        catalog=get_catalog(),
        note_keys=[n.id for n in notes],
        stack_mask=stack,
        network_mask=network,
    )
    stats = model.training_stats_
    assert (stats["v1_notes"], stats["network_notes"], stats["stacking_notes"]) == (50, 30, 20)
    assert stats["stacking_held_out"] is True
    assert stats["v1"]["notes"] == 50  # refit_v1 (the default) is skipped: v1 never saw them
    network_codes = {(c.system, c.code) for n in notes[:30] for c in n.codes}
    assert set(model.trained_codes_) <= network_codes
    with pytest.raises(ValueError, match="stack_mask has 3 flags for 70 notes"):
        model.fit(
            [n.text for n in notes], [None] * 70, [set()] * 70, catalog=get_catalog(),
            stack_mask=[True] * 3,
        )  # fmt: skip


def test_train_model_v2_stacks_on_held_out_notes_and_caps_the_network(
    tiny_encoder_dir: Path, synthetic_corpus_dir: Path, tmp_path: Path
) -> None:
    """The shipped recipe on a synthetic corpus: the stacker on the given held-out notes, v1 on
    every training note, the network on the first `max_network_synthetic` synthetic notes."""
    from evaluation.datasets import load_synthetic
    from training.train_v2 import resolve_config, train_model_v2

    train = load_synthetic(synthetic_corpus_dir, split="train")[:40]
    dev = load_synthetic(synthetic_corpus_dir, split="dev")[:12]
    cfg = resolve_config(
        quick=True,
        overrides={
            "encoder_path": str(tiny_encoder_dir), "chunk_size": 64, "epochs": 1,
            "max_network_synthetic": 25, "stacker_iter": 10, "max_eval_notes": 5,
        },
    )  # fmt: skip
    out = train_model_v2(
        train, tmp_path / "m", seed=2, config=cfg, stack_notes=dev, eval_notes=dev[:5],
        progress=False,
    )  # fmt: skip
    stats = read_manifest(out)["training"]["stats"]
    assert (stats["v1_notes"], stats["network_notes"], stats["stacking_notes"]) == (40, 25, 12)
    assert stats["stacking_held_out"] is True and stats["network"]["notes"] == 25
    suggestion = load_suggester(out).suggest(Note.create(NOTE, id="n1"), top_k=5)
    assert suggestion.codes
    assert {c.system for c in suggestion.codes} <= {"ICD-10-CM", "CPT", "HCPCS"}


def test_v2_refit_network_trains_the_served_network_on_the_stacking_notes_too(
    tiny_encoder_dir: Path, v2_corpus
) -> None:  # type: ignore[no-untyped-def]
    """With hashed stacking notes, `refit_network` fits the served network again on every note
    the network may read (the stacking notes included); the stacker keeps the first network's
    out-of-sample scores. Held-out stacking notes are never trained on."""
    from model.codesets import get_catalog

    notes = v2_corpus[:70]
    columns = (
        [n.text for n in notes],
        [n.meta.get("setting") for n in notes],
        [{(c.system, c.code) for c in n.codes} for n in notes],
    )
    network = [i != 5 for i in range(len(notes))]  # note 5 trains v1 only

    def fit(**kwargs):  # type: ignore[no-untyped-def]
        model = V2Model(
            encoder_path=str(tiny_encoder_dir), chunk_size=64, max_chunks=4, train_layers=0,
            epochs=4, network_note_epochs=150, code_embeddings="lazy", stacker_iter=10, seed=1,
            refit_v1=False, stack_share=0.3, refit_network=True,
            v1_params={"folds": 2, "ranker_iter": 10},
        )  # fmt: skip
        return model.fit(*columns, catalog=get_catalog(), note_keys=[n.id for n in notes], **kwargs)

    model = fit(network_mask=network)
    stats = model.training_stats_
    first = stats["stacking_network"]
    assert first["network_notes"] == stats["network"]["notes"] < 69
    assert stats["network_notes"] == stats["network_refit"]["notes"] == 69  # the served one
    assert "network_all_notes" in stats["timings_s"]
    # 150 notes read in all: the first network's 38-50 notes get 3 epochs, and the served one
    # trains as long (150 // 69 would have given it 2)
    assert 38 <= first["network_notes"] <= 50
    assert len(stats["network"]["epoch_loss"]) == len(stats["network_refit"]["epoch_loss"]) == 3
    all_codes = {c for i, labels in enumerate(columns[2]) if network[i] for c in labels}
    assert set(model.trained_codes_) <= all_codes
    assert len(model.trained_codes_) == stats["trained_codes"] > first["trained_codes"]
    assert model.network_.head.n_trained == len(model.trained_codes_)
    assert set(model.descriptions_) == set(model.trained_codes_)
    out = model.suggest_note(Note.create(NOTE, id="n1"), model_version="t", top_k=5)
    assert out.codes and all(c.evidence for c in out.codes)

    held_out = fit(stack_mask=[i >= 50 for i in range(len(notes))])
    assert held_out.training_stats_["network_refit"] is None
    assert held_out.training_stats_["network_notes"] == 50


def test_train_model_v2_refits_the_network_only_within_its_note_budget(
    tiny_encoder_dir: Path, synthetic_corpus_dir: Path, tmp_path: Path
) -> None:
    """`refit_network_max_notes` bounds the second fine-tuning: over it, the served network is
    the one the stacker was fitted with."""
    from evaluation.datasets import load_synthetic
    from training.train_v2 import resolve_config, train_model_v2

    train = load_synthetic(synthetic_corpus_dir, split="train")[:40]
    cfg = resolve_config(
        quick=True,
        overrides={
            "encoder_path": str(tiny_encoder_dir), "chunk_size": 64, "epochs": 1,
            "stacker_iter": 10, "stack_share": 0.3, "refit_network": True,
            "refit_network_max_notes": 39,
        },
    )  # fmt: skip
    out = train_model_v2(train, tmp_path / "m", seed=2, config=cfg, progress=False)
    stats = read_manifest(out)["training"]["stats"]
    assert stats["network_refit"] is None
    assert stats["network_notes"] == stats["network"]["notes"] < 40
