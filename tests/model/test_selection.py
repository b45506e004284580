"""Shared output rules: top codes per system and the accepted flag with Excludes1 pairs."""

from __future__ import annotations

from model.selection import accepted_codes, top_per_system


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
