"""Shared output rules: top codes per system and the accepted flag with Excludes1 pairs."""

from __future__ import annotations

import numpy as np

from model.selection import accepted_codes, best_sibling_scores, score_order, top_per_system


def test_top_per_system_keeps_order_and_limits_each_system() -> None:
    ranked = [
        (("ICD-10-CM", "I10"), 0.9),
        (("CPT", "99214"), 0.8),
        (("ICD-10-CM", "E11.9"), 0.7),
        (("ICD-10-CM", "J45.909"), 0.6),
        (("HCPCS", "G2211"), 0.5),
    ]
    assert [c for c, _ in top_per_system(ranked, 2)] == [
        ("ICD-10-CM", "I10"),
        ("CPT", "99214"),
        ("ICD-10-CM", "E11.9"),
        ("HCPCS", "G2211"),
    ]
    assert [c[1] for c, _ in top_per_system(ranked, 5, ["CPT"])] == ["99214"]


def test_score_order_breaks_calibrated_ties_by_the_raw_score() -> None:
    # isotonic calibration maps raw 0.41, 0.44 and 0.47 to one step (0.3)
    scores = np.array([0.3, 0.9, 0.3, 0.3, 0.1])
    raw = np.array([0.41, 0.95, 0.47, 0.44, 0.02])
    assert score_order(scores, raw).tolist() == [1, 2, 3, 0, 4]
    # the calibrated score decides first: a raw score never lifts a code over a higher one
    assert score_order(np.array([0.2, 0.5]), np.array([0.9, 0.1])).tolist() == [1, 0]
    # equal on both: the candidate order stands
    assert score_order(np.array([0.5, 0.5]), np.array([0.2, 0.2])).tolist() == [0, 1]


def test_accepted_drops_the_lower_scored_code_of_an_excludes1_pair() -> None:
    # E10.9 (type 1) and E11.9 (type 2) diabetes exclude each other in ICD-10-CM.
    chosen = [
        (("ICD-10-CM", "E11.9"), 0.97),
        (("ICD-10-CM", "E10.9"), 0.96),
        (("CPT", "99214"), 0.5),
    ]
    assert accepted_codes(chosen, {"ICD-10-CM": 0.9, "CPT": 0.4}) == {
        ("ICD-10-CM", "E11.9"),
        ("CPT", "99214"),
    }
    assert accepted_codes(chosen, {"ICD-10-CM": 0.99}) == set()  # CPT threshold unknown


def test_vouched_codes_are_accepted_below_the_threshold_but_excludes1_still_applies() -> None:
    chosen = [
        (("ICD-10-CM", "E11.9"), 0.60),
        (("ICD-10-CM", "E10.9"), 0.55),
        (("ICD-10-CM", "I10"), 0.50),
        (("ICD-10-CM", "J18.9"), 0.40),
    ]
    vouched = {("ICD-10-CM", "E11.9"), ("ICD-10-CM", "E10.9"), ("ICD-10-CM", "I10")}
    # no band (1.01): only the vouched codes, and E10.9 loses to the higher-scored E11.9
    assert accepted_codes(chosen, {"ICD-10-CM": 1.01}, vouched) == {
        ("ICD-10-CM", "E11.9"),
        ("ICD-10-CM", "I10"),
    }
    assert accepted_codes(chosen, {"ICD-10-CM": 1.01}) == set()
    # a code vouched for but not in the list is not added
    assert accepted_codes(chosen[:1], {}, {("ICD-10-CM", "Z00.00")}) == set()


def test_a_code_with_a_close_sibling_is_not_accepted() -> None:
    chosen = [
        (("ICD-10-CM", "I48.91"), 0.96),  # AF, unspecified
        (("ICD-10-CM", "I48.0"), 0.30),  # paroxysmal AF: a rival in category I48
        (("ICD-10-CM", "I10"), 0.95),
        (("ICD-10-CM", "I11.9"), 0.05),  # another category: no rival of I10
        (("CPT", "93000"), 0.95),
    ]
    thresholds = {"ICD-10-CM": 0.9, "CPT": 0.9}
    # the default level (1.01) never withholds: models fitted before the rule are unchanged
    assert ("ICD-10-CM", "I48.91") in accepted_codes(chosen, thresholds)
    assert accepted_codes(chosen, thresholds, contested=0.1) == {
        ("ICD-10-CM", "I10"),
        ("CPT", "93000"),
    }
    assert ("ICD-10-CM", "I48.91") in accepted_codes(chosen, thresholds, contested=0.5)
    # a vouched code stays accepted (its own model applied its rules)
    vouched = {("ICD-10-CM", "I48.91")}
    assert ("ICD-10-CM", "I48.91") in accepted_codes(chosen, thresholds, vouched, contested=0.1)


def test_a_code_with_a_close_rival_in_a_neighbouring_category_is_not_accepted() -> None:
    chosen = [
        (("ICD-10-CM", "I49.9"), 0.96),  # arrhythmia, unspecified
        (("ICD-10-CM", "I48.91"), 0.40),  # AF: category I48, a neighbour of I49
        (("ICD-10-CM", "E11.9"), 0.95),
        (("ICD-10-CM", "E78.5"), 0.50),  # "E7" is not a neighbour of "E1"
    ]
    thresholds = {"ICD-10-CM": 0.9}
    assert accepted_codes(chosen, thresholds, contested_near=0.3) == {("ICD-10-CM", "E11.9")}
    assert accepted_codes(chosen, thresholds, contested_near=0.5) == {
        ("ICD-10-CM", "I49.9"),
        ("ICD-10-CM", "E11.9"),
    }


def test_best_sibling_scores_look_within_one_note_and_category() -> None:
    scores = np.array([0.9, 0.3, 0.2, 0.8, 0.7, 0.6])
    notes = np.array([0, 0, 0, 1, 1, 0])
    categories = np.array([5, 5, 5, 5, 7, 5])
    is_icd = np.array([True, True, True, True, True, False])
    out = best_sibling_scores(scores, notes, categories, is_icd)
    # note 0, category 5: the best (0.9) sees the runner-up, the others see the best; the CPT
    # row and the codes alone in their note and category see none
    assert out.tolist() == [0.3, 0.9, 0.9, 0.0, 0.0, 0.0]


def test_neighbour_rivals_leave_out_the_codes_own_category() -> None:
    scores = np.array([0.9, 0.6, 0.4, 0.3])
    notes = np.zeros(4, dtype=int)
    near = np.zeros(4, dtype=int)  # one neighbourhood ("I4")
    categories = np.array([48, 48, 49, 49])  # I48, I48, I49, I49
    is_icd = np.ones(4, dtype=bool)
    out = best_sibling_scores(scores, notes, near, is_icd, exclude=categories)
    assert out.tolist() == [0.4, 0.4, 0.9, 0.9]
