"""Per-note average precision agrees with the streaming MAP."""

from __future__ import annotations

import pytest

from evaluation.datasets import GoldCode, LabeledNote
from evaluation.metrics import RankingMetrics, average_precisions


def test_per_note_average_precision_matches_map() -> None:
    gold = [
        LabeledNote("a", "x", codes=(GoldCode("ICD-10-CM", "I10"), GoldCode("CPT", "99213"))),
        LabeledNote("b", "x", codes=(GoldCode("CPT", "99214"),)),
    ]
    preds = [
        [
            {"system": "ICD-10-CM", "code": "E11.9", "score": 0.9, "rank": 1},
            {"system": "ICD-10-CM", "code": "I10", "score": 0.8, "rank": 2},
        ],
        [{"system": "CPT", "code": "99214", "score": 0.7, "rank": 1}],
    ]
    aps = average_precisions(preds, gold, "ICD-10-CM")
    assert aps == [pytest.approx(0.5), None]
    m = RankingMetrics("ICD-10-CM")
    m.update(preds, gold)
    assert m.compute()["map"] == pytest.approx(0.5)
    # Pooled over systems: note a finds I10 at rank 2 of its 2 gold codes; note b is perfect.
    assert average_precisions(preds, gold) == [pytest.approx(0.25), pytest.approx(1.0)]
