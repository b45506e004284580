"""Family and personal history status codes derived from flagged disease mentions."""

from __future__ import annotations

import pytest

from model.codesets import get_catalog
from model.v1.analysis import CONTEXT_FLAGS, NoteAnalysis
from model.v1.history import FAMILY, PERSONAL, _tables, derived_history, history_code
from model.v1.matcher import CodeMatch


@pytest.mark.parametrize(
    ("kind", "disease", "expected"),
    [
        (FAMILY, "C50.911", "Z80.3"),  # breast cancer in the family
        (FAMILY, "C61", "Z80.42"),
        (FAMILY, "I25.10", "Z82.49"),
        (FAMILY, "I63.9", "Z82.3"),  # stroke: its own code, longer prefix wins over "I"
        (FAMILY, "E11.9", "Z83.3"),
        (FAMILY, "E78.01", "Z83.42"),
        (PERSONAL, "I63.9", "Z86.73"),
        (PERSONAL, "I21.4", "I25.2"),  # old myocardial infarction
        (PERSONAL, "C18.9", "Z85.038"),
        (PERSONAL, "K35.80", "Z87.19"),  # appendicitis: a digestive disease, not an appendectomy
        (PERSONAL, "K25.9", "Z87.11"),  # peptic ulcer keeps its own history code
        (PERSONAL, "E11.9", None),  # a chronic condition in the history is coded as current
        (FAMILY, "Z80.3", None),  # already a status code
    ],
)
def test_history_code(kind: int, disease: str, expected: str | None) -> None:
    assert history_code(kind, disease) == expected


def test_every_target_is_billable() -> None:
    catalog = get_catalog()
    for pairs in _tables().values():
        for _, code in pairs:
            entry = catalog.get("ICD-10-CM", code)
            assert entry is not None and entry.billable, code


def _flags(**on: bool) -> tuple[bool, ...]:
    return tuple(on.get(name, False) for name in CONTEXT_FLAGS)


def test_derived_history_from_flagged_mentions_only() -> None:
    text = "Mother had breast cancer. History of stroke. No diabetes. Hypertension."
    codes = [
        ("ICD-10-CM", "C50.919"),
        ("ICD-10-CM", "I63.9"),
        ("ICD-10-CM", "E11.9"),
        ("ICD-10-CM", "I10"),
        ("ICD-10-CM", "Z80.3"),
        ("ICD-10-CM", "Z86.73"),
        ("ICD-10-CM", "Z83.3"),
    ]
    index = {c: i for i, c in enumerate(codes)}
    spans = {0: (11, 24), 1: (37, 43), 2: (48, 56), 3: (58, 70)}
    analysis = NoteAnalysis(text, [], [(0, len(text))], [], "")
    for c, (s, e) in spans.items():
        analysis.matches[c] = CodeMatch(c, 1.0, 5.0, 2, 0, 0, s, e, 1, 1.0)
    analysis.context = {
        0: _flags(family=True),
        1: _flags(historical=True),
        2: _flags(negated=True, family=True),  # negated: nothing to code
        3: _flags(),
    }
    out = derived_history(analysis, codes, index)
    assert out == {4: (FAMILY, 11, 24), 5: (PERSONAL, 37, 43)}
    assert text[11:24] == "breast cancer" and text[37:43] == "stroke"


def test_a_disease_inside_a_longer_disease_mention_yields_no_history_code() -> None:
    """In the family, "Alzheimer's dementia" is Z82.0 (from G30.9), not also Z81.8 from the
    "dementia" (F03.90) inside it; a separate mention still counts."""
    text = "Grandfather: Alzheimer's dementia. Sister: depression."
    codes = [
        ("ICD-10-CM", "G30.9"),
        ("ICD-10-CM", "F03.90"),
        ("ICD-10-CM", "F32.A"),
        ("ICD-10-CM", "Z82.0"),
        ("ICD-10-CM", "Z81.8"),
    ]
    index = {c: i for i, c in enumerate(codes)}
    analysis = NoteAnalysis(text, [], [(0, len(text))], [], "")
    for c, (s, e) in {0: (13, 33), 1: (25, 33), 2: (43, 53)}.items():
        analysis.matches[c] = CodeMatch(c, 1.0, 5.0, 2, 0, 0, s, e, 1, 1.0)
        analysis.context[c] = _flags(family=True)
    assert text[13:33] == "Alzheimer's dementia" and text[43:53] == "depression"
    assert derived_history(analysis, codes, index) == {3: (FAMILY, 13, 33), 4: (FAMILY, 43, 53)}
    # without the longer mention, the dementia mention yields Z81.8 (the strongest one wins)
    del analysis.matches[0]
    assert derived_history(analysis, codes, index)[4][0] == FAMILY
