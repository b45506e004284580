"""Header codes roll to a default billable child; their inclusion terms name that child."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.artifact import load_suggester
from model.codesets import get_catalog
from model.v1.analysis import analyze
from model.v1.lexicon import default_billable_child, header_child


@pytest.mark.parametrize(
    ("header", "child"),
    [
        ("G43.0", "G43.009"),  # "without aura": not intractable, without status migrainosus
        ("Z00.12", "Z00.129"),  # routine child exam: without abnormal findings
        ("K40.9", "K40.90"),  # not specified as recurrent
        ("R51", "R51.9"),  # the unspecified child
        ("J44", "J44.9"),
        ("S52.5", "S52.509A"),  # unspecified radius, initial encounter, closed
        ("B01", "B01.9"),  # varicella without complication
    ],
)
def test_header_rolls_to_the_child_the_defaults_describe(header: str, child: str) -> None:
    assert header_child(get_catalog(), "ICD-10-CM", header) == child


def test_default_child_rules_in_order() -> None:
    assert default_billable_child([]) is None
    # 'unspecified' children first, whatever else there is
    kids = [("X1.0", "Thing without complication"), ("X1.9", "Thing, unspecified")]
    assert default_billable_child(kids) == "X1.9"
    # then the plainer wording: without / not beats with
    kids = [("X2.01", "Thing, not intractable, with status"), ("X2.09", "Thing, without status")]
    assert default_billable_child(kids) == "X2.09"
    # then the first code
    assert default_billable_child([("X3.2", "Thing b"), ("X3.1", "Thing a")]) == "X3.1"


def test_header_inclusion_terms_name_the_default_child(trained_model_dir: Path) -> None:
    est = load_suggester(trained_model_dir)._estimator
    a = analyze("Assessment: common migraine, stable on triptan.", est.matcher_, est.context_)
    found = {est.code_space_[c][1]: m.coverage for c, m in a.matches.items()}
    # "Common migraine" is an inclusion term of the header G43.0, not of a billable code.
    assert found.get("G43.009", 0.0) == pytest.approx(1.0)
