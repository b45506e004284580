"""Rule files: the packaged ones load; bad ones fail with errors naming the bad value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from model.text.context import ContextAnalyzer
from model.text.context_rules import CATEGORIES, DIRECTIONS, load_context_rules
from model.text.rulefiles import RuleFileError
from model.text.sections import detect_sections, load_section_rules


def context_rules(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "test",
        "default_window": {"pre": None, "post": 4},
        "groups": [
            {"category": "negated", "direction": "pre", "cues": ["no"]},
            {"category": "terminate", "cues": ["but"]},
        ],
    }
    data.update(overrides)
    return data


def test_packaged_context_rules_load() -> None:
    rules = load_context_rules()
    assert len(rules) > 400
    assert rules.rules["denies"].category == "negated"
    assert rules.rules["was ruled out"].direction == "post"
    assert rules.section_flags["family_history"] == ("family",)
    assert load_context_rules() is rules  # parsed once per process


def test_custom_rules_from_a_mapping_and_a_file(tmp_path: Path) -> None:
    data = context_rules()
    data["groups"].append({"category": "family", "direction": "pre", "cues": ["auntie"]})
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data), "utf-8")
    for source in (data, path, str(path)):
        analyzer = ContextAnalyzer(source)
        text = "Auntie has asthma but no diabetes."
        asthma, diabetes = analyzer.analyze(text, [(11, 17), (25, 33)])
        assert asthma.family and not asthma.negated
        assert diabetes.negated and not diabetes.family  # "but" ends the family scope


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["groups"][0].update(category="negation"),
            r"groups\[0\]\.category is 'negation'; allowed values: " + ", ".join(CATEGORIES),
        ),
        (
            lambda d: d["groups"][0].update(direction="forward"),
            r"groups\[0\]\.direction is 'forward'; allowed values: " + ", ".join(DIRECTIONS),
        ),
        (lambda d: d["groups"][0].pop("direction"), r"groups\[0\]\.direction is None"),
        (lambda d: d["groups"][0].update(window=0), r"groups\[0\]\.window is 0"),
        (lambda d: d["groups"][0].update(window="5"), r"groups\[0\]\.window is '5'"),
        (lambda d: d["groups"][0].update(window=True), r"groups\[0\]\.window is True"),
        (lambda d: d["groups"][0].update(cues=[]), r"groups\[0\]\.cues is empty"),
        (lambda d: d["groups"][0].update(cues=["no", 3]), r"groups\[0\]\.cues\[1\] must be str"),
        (lambda d: d["groups"][0].update(cues=["  "]), r"groups\[0\]\.cues\[0\] is blank"),
        (lambda d: d["groups"][0].update(cue="no"), r"groups\[0\] key is 'cue'; allowed"),
        (lambda d: d["groups"][1].update(cues=["No"]), r"cue 'No' in groups\[1\] is already"),
        (lambda d: d.update(groups="no"), r"groups must be list"),
        (lambda d: d.update(groups=[]), r"no cues defined"),
        (lambda d: d.pop("version"), r"version must be str or int"),
        (lambda d: d.update(default_window={"pre": -1}), r"default_window\.pre is -1"),
        (lambda d: d.update(default_window={"both": 3}), r"default_window key is 'both'"),
        (
            lambda d: d.update(section_flags={"fhx": ["family"]}),
            r"section_flags key is 'fhx'; allowed values: chief_complaint",
        ),
        (
            lambda d: d.update(section_flags={"pmh": ["old"]}),
            r"section_flags\.pmh\[0\] is 'old'; allowed values: negated, historical",
        ),
    ],
)
def test_bad_context_rules_name_the_value(mutate: Any, message: str) -> None:
    data = context_rules()
    mutate(data)
    with pytest.raises(RuleFileError, match=message):
        load_context_rules(data)
    with pytest.raises(RuleFileError, match=message):
        ContextAnalyzer(data)


def test_unreadable_rule_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(RuleFileError, match="cannot read rule file .*missing.json"):
        load_context_rules(missing)
    broken = tmp_path / "broken.json"
    broken.write_text('{"version": 1,', "utf-8")
    with pytest.raises(RuleFileError, match=r"broken.json is not valid JSON \(line 1"):
        load_context_rules(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[]", "utf-8")
    with pytest.raises(RuleFileError, match="must hold a JSON object, not list"):
        load_section_rules(listed)


def section_rules(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "sections": [
            {"name": "hpi", "headers": ["hpi", "history of present illness"]},
            {"name": "physical_exam", "headers": ["pe", "exam"], "colon_required": ["pe"]},
        ],
    }
    data.update(overrides)
    return data


def test_custom_section_vocabulary() -> None:
    vocab = load_section_rules(section_rules())
    text = "HPI: cough\nPE: clear\nPlan: rest"
    assert [s.name for s in detect_sections(text, vocab)] == ["hpi", "physical_exam"]
    assert [s.name for s in detect_sections(text, section_rules())] == ["hpi", "physical_exam"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["sections"][0].update(name="HPI"),
            r"sections\[0\]\.name is 'HPI'; allowed values: chief_complaint, hpi",
        ),
        (lambda d: d["sections"][0].update(headers=[]), r"headers for 'hpi' is empty"),
        (lambda d: d["sections"][0].update(headers="hpi"), r"sections\[0\]\.headers must be list"),
        (lambda d: d["sections"][0].update(headers=["::"]), r"headers\[0\] is '::'"),
        (
            lambda d: d["sections"][1].update(headers=["pe", "hpi"]),
            r"header 'hpi' is listed under both 'hpi' and 'physical_exam'",
        ),
        (
            lambda d: d["sections"][1].update(colon_required=["cc"]),
            r"colon_required\[0\] is 'cc', which is not one of the headers of 'physical_exam'",
        ),
        (lambda d: d["sections"][0].update(alias="x"), r"sections\[0\] key is 'alias'"),
        (lambda d: d.update(sections={}), r"sections must be list"),
    ],
)
def test_bad_section_rules_name_the_value(mutate: Any, message: str) -> None:
    data = section_rules()
    mutate(data)
    with pytest.raises(RuleFileError, match=message):
        load_section_rules(data)
