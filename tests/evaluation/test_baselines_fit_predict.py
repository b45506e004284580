"""Reference systems: fit on tiny corpora, predict in the `chartcoder predict` format."""

from __future__ import annotations

import pytest

from evaluation.baselines import (
    DescriptionMatchBaseline,
    NotFittedError,
    TfidfLogRegBaseline,
    _default_child,
    normalise_phrase,
)
from evaluation.datasets import GoldCode, LabeledNote, load_synthetic
from evaluation.harness import evaluate

ICD, CPT = "ICD-10-CM", "CPT"

TOPICS = {
    "diabetes": (ICD, "E11.9", "type 2 diabetes on metformin, glucose elevated"),
    "hypertension": (ICD, "I10", "hypertension with elevated blood pressure readings"),
    "asthma": (ICD, "J45.909", "asthma with wheezing, uses albuterol inhaler"),
    "visit": (CPT, "99213", "office visit for an established patient"),
}


def _note(i: int, topics: list[str]) -> LabeledNote:
    text = f"Note {i}. " + " ".join(TOPICS[t][2] + "." for t in topics)
    codes = []
    for t in topics:
        system, code, phrase = TOPICS[t]
        start = text.index(phrase)
        codes.append(GoldCode(system, code, ((start, start + len(phrase)),)))
    return LabeledNote(f"n{i}", text, codes=tuple(codes))


CORPUS = [
    _note(i, t)
    for i, t in enumerate(
        [
            ["diabetes", "visit"],
            ["hypertension", "visit"],
            ["asthma"],
            ["diabetes", "hypertension"],
            ["asthma", "visit"],
            ["diabetes"],
            ["hypertension"],
            ["asthma", "diabetes", "visit"],
        ]
    )
]


def _check_format(pred: dict, note: LabeledNote, top_k: int) -> None:
    assert pred["id"] == note.id and pred["model_version"]
    scores = [c["score"] for c in pred["codes"]]
    assert scores == sorted(scores, reverse=True)
    assert [c["rank"] for c in pred["codes"]] == list(range(1, len(scores) + 1))
    for system in {c["system"] for c in pred["codes"]}:
        assert sum(c["system"] == system for c in pred["codes"]) <= top_k
    for c in pred["codes"]:
        assert 0.0 <= c["score"] <= 1.0
        assert c["accepted"] == (c["score"] >= 0.95)
        for e in c["evidence"]:
            assert note.text[e["start"] : e["end"]] == e["text"]


def test_tfidf_logreg_learns_topics() -> None:
    model = TfidfLogRegBaseline(min_df=1, top_k=2).fit(CORPUS)
    assert len(model.labels_) == 4
    query = LabeledNote("q", "Follow-up: type 2 diabetes, glucose elevated on metformin.")
    (pred,) = model.predict([query])
    _check_format(pred, query, top_k=2)
    icd = [c for c in pred["codes"] if c["system"] == ICD]
    assert icd[0]["code"] == "E11.9"
    spans = [e["text"].lower() for e in icd[0]["evidence"]]
    assert spans and any(w in s for s in spans for w in ("diabetes", "metformin", "glucose"))
    assert {c["system"] for c in pred["codes"]} == {ICD, CPT}
    report = evaluate(model.predict(CORPUS), CORPUS)
    assert report["by_system"]["overall"]["ranking"]["map"] > 0.9


def test_tfidf_logreg_failure_paths() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        TfidfLogRegBaseline().predict(CORPUS)
    with pytest.raises(ValueError, match="empty list"):
        TfidfLogRegBaseline().fit([])
    with pytest.raises(ValueError, match="min_count=99"):
        TfidfLogRegBaseline(min_count=99).fit(CORPUS)


def test_tfidf_logreg_on_synthetic_fixture(synthetic_dir) -> None:
    notes = load_synthetic(synthetic_dir)
    preds = TfidfLogRegBaseline(min_df=1).fit(notes).predict(notes)
    for p, n in zip(preds, notes, strict=True):
        _check_format(p, n, top_k=30)


PHRASES = [
    (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        "description",
        "Type 2 diabetes mellitus without complications",
    ),
    (
        "E11.9",
        "Type 2 diabetes mellitus without complications",
        "header",
        "Type 2 diabetes mellitus",
    ),
    ("I10", "Essential (primary) hypertension", "description", "Essential (primary) hypertension"),
    ("I10", "Essential (primary) hypertension", "inclusion", "high blood pressure"),
    ("R50.9", "Fever, unspecified", "description", "Fever, unspecified"),
    ("R52", "Pain, unspecified", "description", "Pain, unspecified"),
]


def test_normalise_phrase() -> None:
    assert normalise_phrase("Essential (primary) hypertension") == ("essential", "hypertension")
    assert normalise_phrase("Fever, unspecified") == ("fever",)
    assert normalise_phrase("Asthma NOS [bronchial]") == ("asthma",)
    assert normalise_phrase("Type 2 diabetes") == ("type", "diabetes")


def test_default_child_prefers_unspecified_then_uncomplicated() -> None:
    asthma = {"J45.901": "unspecified asthma with exacerbation", "J45.909": "asthma, unspecified"}
    assert _default_child(asthma) == "J45.909"
    diabetes = {
        "E11.8": "t2dm with unspecified complications",
        "E11.9": "t2dm without complications",
        "E11.649": "t2dm with hypoglycemia without coma",
    }
    assert _default_child(diabetes) == "E11.9"
    assert _default_child({"A00.0": "cholera due to x", "A00.1": "cholera due to y"}) is None


def test_description_match_finds_phrases_with_exact_evidence() -> None:
    train = [
        LabeledNote("t1", "Fever and essential hypertension.", codes=(GoldCode(ICD, "I10"),)),
        LabeledNote("t2", "No fever. Type 2 diabetes mellitus.", codes=(GoldCode(ICD, "E11.9"),)),
    ]
    model = DescriptionMatchBaseline(phrases=PHRASES).fit(train)
    # "fever" (description, 1 word) was matched twice and right never: (0 + 1) / (2 + 2)
    assert model.bucket_scores_[("description", 1)] == pytest.approx(0.25)
    assert model.bucket_scores_[("description", 2)] == pytest.approx(2 / 3)
    text = "Pt with Type 2 diabetes mellitus, high blood pressure and fever. Pain in leg."
    note = LabeledNote("q", text)
    (pred,) = model.predict([note])
    _check_format(pred, note, top_k=30)
    got = {c["code"]: c for c in pred["codes"]}
    assert set(got) == {"E11.9", "I10", "R50.9"}  # "pain" is too short a single word
    assert got["E11.9"]["evidence"][0]["text"] == "Type 2 diabetes mellitus"
    assert got["I10"]["evidence"][0]["text"] == "high blood pressure"
    assert got["E11.9"]["description"].startswith("Type 2 diabetes")
    # header, 3 words, right once: 2/3; fever: 1/4; inclusion never seen: prior 0.05 * 3 words
    assert [(c["code"], c["score"]) for c in pred["codes"]] == [
        ("E11.9", pytest.approx(2 / 3, abs=1e-6)),
        ("R50.9", 0.25),
        ("I10", pytest.approx(0.15)),
    ]


def test_description_match_failure_paths() -> None:
    with pytest.raises(NotFittedError, match="call fit"):
        DescriptionMatchBaseline(phrases=PHRASES).predict(CORPUS)
    with pytest.raises(ValueError, match="phrase kind must be one of"):
        DescriptionMatchBaseline(phrases=[("I10", "x", "synonym", "x")]).fit([])


@pytest.mark.slow
def test_description_match_full_icd10cm_release(synthetic_dir) -> None:
    notes = load_synthetic(synthetic_dir)
    model = DescriptionMatchBaseline().fit(notes)
    preds = {p["id"]: p for p in model.predict(notes)}
    codes = {c["code"]: c for c in preds["syn-1"]["codes"]}
    assert "E11.9" in codes and "I10" in codes
    assert codes["I10"]["evidence"][0]["text"] == "essential hypertension"
    for n in notes:
        _check_format(preds[n.id], n, top_k=30)
