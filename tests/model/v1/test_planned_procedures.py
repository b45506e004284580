"""A procedure named only in a sentence that plans or orders it is never marked `accepted`."""

from __future__ import annotations

from model.v1.analysis import NoteAnalysis
from model.v1.matcher import CodeMatch
from model.v1.model import _planned_procedures


def test_planned_or_ordered_procedures_lose_acceptance_only() -> None:
    text = (
        "Colonoscopy performed today without complication. "
        "Screening mammogram ordered for next month. "
        "Tdap given in clinic. "
        "Will schedule EGD if symptoms persist. "
        "Essential hypertension, plan to recheck."
    )
    sentences = []
    start = 0
    for part in text.split(". "):
        end = start + len(part) + (1 if not part.endswith(".") else 0)
        sentences.append((start, min(end, len(text))))
        start = end + 1
    codes = {
        ("CPT", "45378"): "Colonoscopy",
        ("CPT", "77067"): "Screening mammogram",
        ("CPT", "90715"): "Tdap",
        ("CPT", "43235"): "EGD",
        ("ICD-10-CM", "I10"): "Essential hypertension",
        ("CPT", "99213"): None,  # an E/M visit code has no mention and is never touched
    }
    index = {c: i for i, c in enumerate(codes)}
    analysis = NoteAnalysis(text, [], sentences, [], "")
    for c, phrase in codes.items():
        if phrase is None:
            continue
        s = text.index(phrase)
        sent = next(i for i, (a, b) in enumerate(sentences) if a <= s < b)
        analysis.matches[index[c]] = CodeMatch(
            index[c], 1.0, 5.0, 2, 0, sent, s, s + len(phrase), 1, 1.0
        )
    planned = _planned_procedures(set(codes), analysis, index)
    assert planned == {("CPT", "77067"), ("CPT", "43235")}


def test_past_or_negated_procedures_lose_acceptance() -> None:
    from model.v1.analysis import CONTEXT_FLAGS

    text = "Status post TKR in 2019. Knee arthroscopy performed today."
    sentences = [(0, 24), (25, len(text))]
    codes = [("CPT", "27447"), ("CPT", "29881")]
    index = {c: i for i, c in enumerate(codes)}
    analysis = NoteAnalysis(text, [], sentences, [], "")
    for c, phrase, sent in ((codes[0], "TKR", 0), (codes[1], "Knee arthroscopy", 1)):
        s = text.index(phrase)
        analysis.matches[index[c]] = CodeMatch(
            index[c], 1.0, 5.0, 2, 0, sent, s, s + len(phrase), 1, 1.0
        )
    past = tuple(name == "historical" for name in CONTEXT_FLAGS)
    analysis.context = {index[codes[0]]: past, index[codes[1]]: (False,) * len(CONTEXT_FLAGS)}
    assert _planned_procedures(set(codes), analysis, index) == {("CPT", "27447")}
