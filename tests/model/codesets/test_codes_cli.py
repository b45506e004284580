"""`chartcoder codes ...` through typer's CliRunner: text and --json output, exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from chartcoder.cli import app
from model.codesets import Catalog

runner = CliRunner()


@pytest.fixture(autouse=True)
def _curated_only(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the session catalog (no licensed files from the environment)."""
    monkeypatch.delenv("CHARTCODER_CPT_FILE", raising=False)
    monkeypatch.delenv("CHARTCODER_HCPCS_FILE", raising=False)


def test_show_text_and_json() -> None:
    result = runner.invoke(app, ["codes", "show", "e119"])
    assert result.exit_code == 0, result.output
    assert "E11.9" in result.output and "Type 2 diabetes mellitus without complications" in (
        result.output
    )
    result = runner.invoke(app, ["codes", "show", "E11.9", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["code"] == "E11.9" and data["billable"] is True and data["parent"] == "E11"


def test_show_cpt_marks_our_label() -> None:
    result = runner.invoke(app, ["codes", "show", "99213", "--system", "CPT"])
    assert result.exit_code == 0
    assert "label written by chartcoder" in result.output


def test_show_unknown_code_exits_1() -> None:
    result = runner.invoke(app, ["codes", "show", "E11.99"])
    assert result.exit_code == 1
    assert "not a known code" in result.output
    result = runner.invoke(app, ["codes", "show", "E11.99", "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["found"] is False


def test_search_json_ranks_e119_first() -> None:
    result = runner.invoke(
        app, ["codes", "search", "type 2 diabetes without complications", "--limit", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert len(hits) == 3 and hits[0]["code"] == "E11.9"


def test_search_text_with_system_filter() -> None:
    result = runner.invoke(app, ["codes", "search", "office visit", "--system", "cpt", "-n", "2"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and all(" CPT " in line for line in lines)


def test_validate_all_valid_exits_0() -> None:
    result = runner.invoke(app, ["codes", "validate", "E11.9", "99213", "G0439", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["system"], r["code"], r["valid"]) for r in rows] == [
        ("ICD-10-CM", "E11.9", True),
        ("CPT", "99213", True),
        ("HCPCS", "G0439", True),
    ]


def test_validate_invalid_exits_1_with_problems() -> None:
    result = runner.invoke(
        app, ["codes", "validate", "E11", "99441", "E11.99", "--date", "2026-03-01", "--json"]
    )
    assert result.exit_code == 1
    rows = {r["input"]: r for r in json.loads(result.stdout)}
    assert rows["E11"]["problems"][0]["code"] == "not_billable"
    assert "E11.9" in rows["E11"]["problems"][0]["billable_children"]
    assert rows["99441"]["problems"][0]["code"] == "terminated"
    assert rows["E11.99"]["problems"][0]["code"] == "unknown_code"


def test_validate_text_output_and_sex_edit() -> None:
    result = runner.invoke(app, ["codes", "validate", "N40.0", "--sex", "F"])
    assert result.exit_code == 1
    assert "INVALID" in result.output and "sex_mismatch" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["codes", "validate", "E11.9", "--date", "03/01/2026"], "YYYY-MM-DD"),
        (["codes", "validate", "E11.9", "--system", "snomed"], "unknown code system"),
        (["codes", "validate", "E11.9", "--sex", "X"], "not F or M"),
        (["codes", "search", "asthma", "--limit", "0"], "--limit"),
    ],
)
def test_bad_arguments_exit_2_naming_the_option(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output


def test_info_reports_counts_and_release() -> None:
    result = runner.invoke(app, ["codes", "info", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["billable_codes"]["ICD-10-CM"] == 74_719
    assert data["release"]["CPT"] == "chartcoder-curated-2026"
