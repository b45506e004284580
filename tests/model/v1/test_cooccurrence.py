"""Code co-occurrence: P(c | d) from gold codes, with unknown labels left out."""

from __future__ import annotations

import numpy as np
import pytest

from model.v1.cooccurrence import SMOOTHING, CoOccurrence


def test_cooccurrence_estimates_conditional_rates() -> None:
    # Code 0 (diabetes) in 4 notes, code 1 (drug therapy) with it in 3; code 2 elsewhere.
    gold = [{0, 1}, {0, 1}, {0, 1}, {0}, {2}]
    co = CoOccurrence().fit(gold, n_codes=4)
    out = co.feature([0], [1, 2, 3])
    assert out[0] == pytest.approx(3 / (4 + SMOOTHING))
    assert out[1] == 0.0 and out[2] == 0.0
    # The strongest anchor wins; a code is never its own evidence.
    assert co.feature([2, 0], [1, 0]).tolist() == pytest.approx([3 / 6, 0.0])
    assert co.feature([], [1]).tolist() == [0.0]


def test_cooccurrence_ignores_notes_that_say_nothing_about_a_code() -> None:
    # Base notes (no habit labels) have code 0 without 1, but they never label code 1.
    base = [{0}] * 20
    site = [{0, 1}] * 5
    co = CoOccurrence().fit(base + site, n_codes=2, unknown=[{1}] * 20 + [set()] * 5)
    assert co.feature([0], [1])[0] == pytest.approx(5 / (5 + SMOOTHING))
    plain = CoOccurrence().fit(base + site, n_codes=2)
    assert plain.feature([0], [1])[0] == pytest.approx(5 / (25 + SMOOTHING))
    assert np.all(co.feature([1], [0]) <= 1.0)
