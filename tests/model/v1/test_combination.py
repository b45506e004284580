"""Combination codes ICD-10-CM presumes from affirmed conditions (guidelines I.A.15, I.C.9.a),
found through the real phrase matcher and context analyser."""

from __future__ import annotations

import pytest

from model.codesets import get_catalog
from model.text.context import ContextAnalyzer
from model.v1.analysis import analyze
from model.v1.combination import followed_rules, presumed_combinations, rules
from model.v1.cooccurrence import anchors
from model.v1.lexicon import build_phrases
from model.v1.matcher import PhraseMatcher
from model.v1.tokens import snap_to_words

CODES = [
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E11.22", "Type 2 diabetes mellitus with diabetic chronic kidney disease"),
    ("N18.31", "Chronic kidney disease, stage 3a"),
    ("N18.6", "End stage renal disease"),
    ("I10", "Essential (primary) hypertension"),
    ("I12.9", "Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney"
              " disease"),
    ("I12.0", "Hypertensive chronic kidney disease with stage 5 chronic kidney disease"),
    ("I11.0", "Hypertensive heart disease with heart failure"),
    ("I13.0", "Hypertensive heart and chronic kidney disease with heart failure"),
    ("I50.32", "Chronic diastolic (congestive) heart failure"),
    ("J45.909", "Unspecified asthma, uncomplicated"),
]  # fmt: skip


@pytest.fixture(scope="module")
def parts() -> tuple[PhraseMatcher, ContextAnalyzer]:
    entries = [("ICD-10-CM", code, True, desc, (), ()) for code, desc in CODES]
    synonyms = [("ICD-10-CM", "E11.9", "type 2 diabetes"), ("ICD-10-CM", "I10", "hypertension")]
    return PhraseMatcher(min_phrase_weight=0.0).fit(build_phrases(entries, {}, synonyms)), (
        ContextAnalyzer()
    )


def _presumed(parts: tuple[PhraseMatcher, ContextAnalyzer], text: str) -> tuple[dict, dict, str]:
    matcher, context = parts
    a = analyze(text, matcher, context)
    index = {c: i for i, c in enumerate(matcher.codes_)}
    found, replaced = presumed_combinations(a, anchors(a), matcher.codes_, index)
    return (
        {matcher.codes_[c][1]: spans for c, spans in found.items()},
        {matcher.codes_[c][1]: matcher.codes_[t][1] for c, t in replaced.items()},
        text,
    )


def test_diabetes_and_ckd_are_diabetic_ckd(parts) -> None:
    found, replaced, text = _presumed(
        parts, "Problems: type 2 diabetes, on metformin. Chronic kidney disease, stage 3a."
    )
    assert set(found) == {"E11.22"}
    assert replaced == {"E11.9": "E11.22"}
    # the evidence is both components, in the note's own words
    first, second = (text[slice(*snap_to_words(text, s, e))] for s, e in found["E11.22"])
    assert first.endswith("2 diabetes") and second == "Chronic kidney disease, stage 3a"


def test_hypertension_with_ckd_and_heart_failure(parts) -> None:
    found, replaced, _ = _presumed(
        parts,
        "Hypertension. Chronic kidney disease, stage 3a. Chronic diastolic heart failure.",
    )
    assert {"I12.9", "I11.0", "I13.0"} <= set(found)
    # the three-way combination replaces the two-way ones and plain hypertension
    assert {r: replaced[r] for r in ("I10", "I11.0", "I12.9")} == dict.fromkeys(
        ("I10", "I11.0", "I12.9"), "I13.0"
    )
    assert "I13.0" not in replaced


def test_end_stage_renal_disease_takes_the_stage_5_combination(parts) -> None:
    found, _, _ = _presumed(parts, "Hypertension. End stage renal disease on dialysis.")
    assert "I12.0" in found and "I12.9" not in found


@pytest.mark.parametrize(
    "text",
    [
        "Type 2 diabetes. No chronic kidney disease, stage 3a.",  # a component negated
        "Type 2 diabetes. Mother has chronic kidney disease, stage 3a.",  # family history
        "Type 2 diabetes. Asthma.",  # only one component
    ],
)
def test_no_combination_without_every_component_affirmed(parts, text: str) -> None:
    found, replaced, _ = _presumed(parts, text)
    assert found == {} and replaced == {}


def test_every_rule_names_billable_codes() -> None:
    catalog = get_catalog()
    for rule in rules():
        for code in (rule.code, *rule.replaces):
            entry = catalog.get("ICD-10-CM", code)
            assert entry is not None and entry.billable, code


def test_a_replaced_code_never_outranks_its_combination() -> None:
    from model.v1.combination import apply_combinations

    scores, present = apply_combinations({1: 0.9, 2: 0.3, 5: 0.5}, {1: 2, 7: 2})
    assert scores == {1: 0.3, 2: 0.9, 5: 0.5}  # E11.9 (1) and E11.22 (2) trade scores
    assert present == {1}  # 7 is not among the scored codes
    scores, _ = apply_combinations({1: 0.2, 2: 0.8}, {1: 2})
    assert scores == {1: 0.2, 2: 0.8}  # already in order: unchanged


def test_rules_followed_are_read_from_the_training_labels() -> None:
    """A corpus whose coders report diabetes and CKD separately (E11.9 + N18.x) more often than
    as E11.22 does not follow that rule; a rule the corpus never shows keeps the guideline."""
    icd = lambda *codes: {("ICD-10-CM", c) for c in codes}  # noqa: E731
    gold = [
        icd("E11.9", "N18.31"),
        icd("E11.65", "N18.4"),
        icd("E11.22", "N18.31"),
        icd("I12.9", "N18.4"),
        icd("I12.9", "N18.2"),
        icd("I10", "N18.2"),
        # I13.0 replaces I12.9: this note follows the three-way rule, it does not break I12.9's
        icd("I13.0", "I50.32", "N18.31"),
        icd("J45.909"),
    ]
    followed, counts = followed_rules(gold)
    assert counts["E11.22"] == {"combined": 1, "separate": 2}
    assert counts["I12.9"] == {"combined": 2, "separate": 1}
    assert counts["I13.0"] == {"combined": 1, "separate": 0}
    assert "E11.22" not in followed
    assert {"I12.9", "I13.0", "I11.0", "E10.22"} <= followed  # I11.0, E10.22: never seen


def test_a_rule_the_corpus_does_not_follow_is_not_presumed(parts) -> None:
    matcher, context = parts
    text = "Problems: type 2 diabetes. Chronic kidney disease, stage 3a. Hypertension."
    a = analyze(text, matcher, context)
    index = {c: i for i, c in enumerate(matcher.codes_)}
    everything, _ = presumed_combinations(a, anchors(a), matcher.codes_, index)
    assert {matcher.codes_[c][1] for c in everything} == {"E11.22", "I12.9"}
    found, replaced = presumed_combinations(
        a, anchors(a), matcher.codes_, index, frozenset({"I12.9"})
    )
    assert {matcher.codes_[c][1] for c in found} == {"I12.9"}
    assert {matcher.codes_[c][1] for c in replaced} == {"I10"}  # E11.9 stays a code of its own
