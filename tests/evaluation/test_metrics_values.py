"""Metrics against hand-worked values, sklearn cross-checks, and partial == full updates."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sklearn.metrics import (
    brier_score_loss,
    label_ranking_average_precision_score,
    precision_recall_fscore_support,
)
from sklearn.preprocessing import MultiLabelBinarizer

from evaluation.calibration import CalibrationMetrics
from evaluation.datasets import Distractor, GoldCode, LabeledNote
from evaluation.metrics import (
    ACCEPTED,
    AutomationMetrics,
    DistractorMetrics,
    EvidenceMetrics,
    RankingMetrics,
    Selection,
    SetMetrics,
)

ICD, CPT = "ICD-10-CM", "CPT"


def pc(code, score, accepted=False, system=ICD, evidence=()):
    return {
        "system": system,
        "code": code,
        "score": score,
        "accepted": accepted,
        "evidence": [{"start": s, "end": e} for s, e in evidence],
    }


N1 = LabeledNote(
    "n1",
    "x" * 100,
    codes=(
        GoldCode(ICD, "A", ((0, 10), (20, 30))),
        GoldCode(ICD, "B"),
        GoldCode(ICD, "C"),
    ),
    distractors=(Distractor(ICD, "Z"), Distractor(ICD, "W"), Distractor(ICD, "B")),
)
N2 = LabeledNote(
    "n2",
    "y" * 100,
    codes=(GoldCode(ICD, "D"), GoldCode(ICD, "E", ((0, 12),)), GoldCode(CPT, "99213")),
    distractors=(Distractor(ICD, "Q"),),
)
P1 = [
    pc("A", 0.9, True, evidence=[(0, 10)]),
    pc("X", 0.8, True),
    pc("B", 0.6),
    pc("Y", 0.4),
    pc("Z", 0.3),
    pc("W", 0.2),
    pc("V", 0.1),
    pc("U", 0.05),
    pc("C", 0.01),
]
# deliberately not in score order: metrics rank by score
P2 = [
    pc("E", 0.7, True, evidence=[(5, 8), (40, 45)]),
    pc("99213", 0.95, True, system=CPT),
    pc("Q", 0.5),
    pc("99214", 0.45, system=CPT),
]
PREDS, GOLD = [P1, P2], [N1, N2]


def run(metric, preds=PREDS, gold=GOLD):
    metric.update(preds, gold)
    return metric.compute()


def test_ranking_hand_worked() -> None:
    icd = run(RankingMetrics(ICD))
    # n1: AP = (1/1 + 2/3 + 3/9) / 3 = 2/3 ; n2 (ICD only: E, Q): AP = (1/1) / 2
    assert icd["map"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert icd["p@5"] == pytest.approx((2 / 5 + 1 / 5) / 2)
    assert icd["p@8"] == pytest.approx((2 / 8 + 1 / 8) / 2)
    assert icd["r@15"] == pytest.approx((1 + 1 / 2) / 2)
    assert icd["n_notes"] == 2
    cpt = run(RankingMetrics(CPT))  # only n2 has CPT gold
    assert cpt == pytest.approx({"map": 1.0, "p@5": 0.2, "p@8": 1 / 8, "r@15": 1.0, "n_notes": 1})
    # pooled: n2 ranks 99213, E, Q, 99214 against {99213, D, E}: AP = (1 + 2/2) / 3
    pooled = run(RankingMetrics(None))
    assert pooled["map"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert pooled["r@15"] == pytest.approx((1 + 2 / 3) / 2)


def test_ranking_empty_predictions_and_no_gold() -> None:
    m = RankingMetrics(ICD)
    m.update([[], [pc("A", 0.9)]], [N1, LabeledNote("empty", "t")])
    assert m.compute() == {"map": 0.0, "p@5": 0.0, "p@8": 0.0, "r@15": 0.0, "n_notes": 1}
    assert RankingMetrics().compute()["map"] == 0.0


def test_ranking_matches_sklearn_on_full_rankings() -> None:
    rng = random.Random(3)
    labels = [f"L{i}" for i in range(12)]
    preds, gold, y_true, y_score = [], [], [], []
    for n in range(30):
        scores = rng.sample(range(1, 1000), len(labels))
        rel = rng.sample(labels, rng.randint(1, 4))
        preds.append([pc(lab, s / 1000) for lab, s in zip(labels, scores, strict=True)])
        gold.append(LabeledNote(f"n{n}", "t", codes=tuple(GoldCode(ICD, r) for r in rel)))
        y_true.append([lab in rel for lab in labels])
        y_score.append(scores)
    got = run(RankingMetrics(ICD), preds, gold)["map"]
    assert got == pytest.approx(label_ranking_average_precision_score(y_true, y_score))


def test_set_metrics_accepted_hand_worked() -> None:
    m = run(SetMetrics(ICD, ACCEPTED))
    # n1 accepted {A, X} vs {A, B, C}; n2 accepted {E} vs {D, E}: TP 2, FP 1, FN 3
    assert (m["tp"], m["fp"], m["fn"]) == (2, 1, 3)
    assert m["micro_p"] == pytest.approx(2 / 3)
    assert m["micro_r"] == pytest.approx(2 / 5)
    assert m["micro_f1"] == pytest.approx(0.5)
    # labels A, B, C, D, E, X: only A and E are perfect
    assert m["macro_p"] == m["macro_r"] == m["macro_f1"] == pytest.approx(1 / 3)
    assert m["n_labels"] == 6


def test_set_metrics_threshold_hand_worked() -> None:
    m = run(SetMetrics(ICD, Selection("threshold", 0.5)))
    # n1 >= .5: {A, X, B}; n2: {E, Q}: TP 3 (A, B, E), FP 2 (X, Q), FN 2 (C, D)
    assert (m["tp"], m["fp"], m["fn"]) == (3, 2, 2)
    assert m["micro_f1"] == pytest.approx(0.6)
    per_system = run(SetMetrics(None, Selection("threshold", {ICD: 0.95, CPT: 0.4})))
    # ICD nothing above .95; CPT 99213 (TP) and 99214 (FP)
    assert (per_system["tp"], per_system["fp"], per_system["fn"]) == (1, 1, 5)


@pytest.mark.parametrize("selection", [ACCEPTED, Selection("threshold", 0.3)])
def test_set_metrics_match_sklearn(selection: Selection) -> None:
    rng = random.Random(11)
    labels = [f"L{i}" for i in range(15)]
    preds, gold, yt, yp = [], [], [], []
    for n in range(40):
        rel = set(rng.sample(labels, rng.randint(0, 3)))
        codes = [pc(lab, rng.random(), rng.random() < 0.3) for lab in rng.sample(labels, 6)]
        preds.append(codes)
        gold.append(LabeledNote(f"n{n}", "t", codes=tuple(GoldCode(ICD, r) for r in rel)))
        yt.append(rel)
        yp.append({c["code"] for c in codes if selection.keeps(c)})
    got = run(SetMetrics(ICD, selection), preds, gold)
    mlb = MultiLabelBinarizer().fit(yt + yp)
    t, p = mlb.transform(yt), mlb.transform(yp)
    for avg in ("micro", "macro"):
        sp, sr, sf, _ = precision_recall_fscore_support(t, p, average=avg, zero_division=0)
        assert got[f"{avg}_p"] == pytest.approx(sp)
        assert got[f"{avg}_r"] == pytest.approx(sr)
        assert got[f"{avg}_f1"] == pytest.approx(sf)


def test_evidence_hand_worked() -> None:
    m = run(EvidenceMetrics(ICD, ACCEPTED))
    # TP codes with gold evidence: A (pred (0,10) vs gold (0,10),(20,30)) and
    # E (pred (5,8),(40,45) vs gold (0,12))
    assert m["n_codes"] == 2
    assert m["overlap_p"] == pytest.approx(2 / 3)
    assert m["overlap_r"] == pytest.approx(2 / 3)
    assert m["overlap_f1"] == pytest.approx(2 / 3)
    assert m["exact_p"] == pytest.approx(1 / 3)
    assert m["exact_r"] == pytest.approx(1 / 3)
    # adjacent spans do not overlap (end-exclusive)
    m2 = EvidenceMetrics(ICD, ACCEPTED)
    m2.update([[pc("A", 0.9, True, evidence=[(10, 20)])]], [N1])
    assert m2.compute()["overlap_p"] == 0.0


def test_automation_hand_worked() -> None:
    assert run(AutomationMetrics(ICD))["automation_rate"] == 0.0
    cpt = run(AutomationMetrics(CPT))  # n2 accepted CPT == gold CPT
    assert cpt["automation_rate"] == 1.0 and cpt["n_notes"] == 1
    assert run(AutomationMetrics(None))["accepted_note_share"] == 1.0
    ok = AutomationMetrics(None)
    note = LabeledNote("k", "t", codes=(GoldCode(ICD, "A"),))
    ok.update(
        [[pc("A", 0.99, True), pc("B", 0.2)], [pc("A", 0.99, True), pc("B", 0.9, True)]],
        [note, note],
    )
    assert ok.compute()["automation_rate"] == 0.5


def test_distractor_rate_hand_worked() -> None:
    # n1 distractors {Z, W} (B is gold so excluded); n2 {Q}
    acc = run(DistractorMetrics(ICD, ACCEPTED))
    assert acc["rate"] == 0.0 and acc["n_distractors"] == 3
    thr = run(DistractorMetrics(ICD, Selection("threshold", 0.5)))  # Q (.5) selected
    assert thr["rate"] == pytest.approx(1 / 3)
    assert thr["per_note_rate"] == pytest.approx(0.5)
    assert thr["notes_with_fp"] == pytest.approx(0.5)
    assert run(DistractorMetrics(CPT, Selection("threshold", 0.0)))["n_notes"] == 0


def test_calibration_hand_worked(tmp_path: Path) -> None:
    m = CalibrationMetrics(ICD, n_bins=10)
    got = run(m)
    # per-bin |correct - sum of scores|, see module docstring
    assert got["ece"] == pytest.approx(4.04 / 11)
    scores = [c["score"] for p in PREDS for c in p if c["system"] == ICD]
    ys = [1, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0]
    assert got["brier"] == pytest.approx(brier_score_loss(ys, scores))
    assert got["n_codes"] == 11
    bins = m.bins()
    assert bins[0]["count"] == 2 and bins[0]["accuracy"] == 0.5
    png = m.plot(tmp_path / "rel" / "rel.png", title="test")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    one = CalibrationMetrics(ICD, n_bins=4)
    one.update([[pc("A", 1.0)]], [N1])
    assert one.bins()[3]["count"] == 1 and one.compute()["ece"] == 0.0
    with pytest.raises(ValueError, match="n_bins"):
        CalibrationMetrics(n_bins=0)


FACTORIES = [
    lambda: RankingMetrics(ICD),
    lambda: RankingMetrics(None),
    lambda: SetMetrics(None, ACCEPTED),
    lambda: SetMetrics(ICD, Selection("threshold", 0.5)),
    lambda: EvidenceMetrics(ICD, ACCEPTED),
    lambda: AutomationMetrics(None),
    lambda: DistractorMetrics(ICD, Selection("threshold", 0.5)),
    lambda: CalibrationMetrics(ICD),
]


@pytest.mark.parametrize("factory", FACTORIES)
def test_partial_updates_equal_full_update(factory) -> None:
    full = factory()
    full.update(PREDS, GOLD)
    part = factory()
    part.update(PREDS[:1], GOLD[:1])
    part.update(PREDS[1:], GOLD[1:])
    assert part.compute() == pytest.approx(full.compute())
    part.reset()
    assert part.compute() == pytest.approx(factory().compute())


@pytest.mark.parametrize("factory", FACTORIES)
def test_misaligned_update_is_rejected(factory) -> None:
    with pytest.raises(ValueError, match="aligned"):
        factory().update(PREDS, GOLD[:1])


def test_selection_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="Selection.mode"):
        Selection("top5")
