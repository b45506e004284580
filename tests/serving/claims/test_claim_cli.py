"""`chartcoder claim build`: rendering on stdout, exit codes, edits and bad input on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.claim import Claim
from typer.testing import CliRunner

from chartcoder.cli import app
from serving.claims.x12check import pyx12_errors
from tests.serving.claims.conftest import EXAMPLE

runner = CliRunner()


def _write(tmp_path: Path, req: dict[str, Any]) -> str:
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(req))
    return str(path)


def test_example_renders_x12_that_pyx12_accepts() -> None:
    result = runner.invoke(app, ["claim", "build", str(EXAMPLE), "--format", "x12"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ISA*00*")
    assert pyx12_errors(result.stdout) == []


@pytest.mark.parametrize("fmt", ["fhir", "cms1500"])
def test_example_renders_json_formats(fmt: str) -> None:
    result = runner.invoke(app, ["claim", "build", str(EXAMPLE), "--format", fmt, "--no-verify"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    if fmt == "fhir":
        assert Claim.model_validate(out).use == "claim"
    else:
        assert out["28"] == "205.00"


def test_rejected_claim_exits_1_with_edits_on_stderr(
    tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    request_dict["diagnoses"] = [{"code": "E11"}, {"code": "I10"}]
    result = runner.invoke(app, ["claim", "build", _write(tmp_path, request_dict)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "icd.not_billable [diagnoses[0].code]" in result.stderr
    assert "nothing rendered" in result.stderr


def test_missing_fields_exit_2_naming_every_field(
    tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    del request_dict["payer"], request_dict["lines"]
    del request_dict["patient"]["birth_date"]
    result = runner.invoke(app, ["claim", "build", _write(tmp_path, request_dict)])
    assert result.exit_code == 2
    for field in ("payer", "lines", "patient.birth_date"):
        assert f"  {field}: Field required" in result.stderr
    assert result.stdout == ""


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert runner.invoke(app, ["claim", "build", str(bad)]).exit_code == 2
    missing = runner.invoke(app, ["claim", "build", str(tmp_path / "absent.json")])
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


def test_cms_quarterly_files_replace_the_packaged_tables(
    tmp_path: Path, request_dict: dict[str, Any]
) -> None:
    """A PTP file in the CMS layout (title lines, header, rows) drives the edits."""
    ptp = tmp_path / "ccipra.txt"
    ptp.write_text(
        "CPT codes and descriptions only are copyright American Medical Association.\n"
        "Column 1\tColumn 2\t* = In existence prior to 1996\tEffective Date\t"
        "Deletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\t"
        "PTP Edit Rationale\n"
        "83036\t36415\t\t20250101\t*\t0\tTest-only pair\n"
    )
    mue = tmp_path / "mue.csv"
    mue.write_text(
        "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n"
        "99214,1,2 Date of Service Edit: Policy,Nature of Service/Procedure\n"
    )
    path = _write(tmp_path, request_dict)
    packaged = runner.invoke(app, ["claim", "build", path, "--no-verify"])
    assert packaged.exit_code == 0
    cms = runner.invoke(
        app, ["claim", "build", path, "--ptp-file", str(ptp), "--mue-file", str(mue)]
    )
    assert cms.exit_code == 1
    assert "ncci.ptp [lines[2].code]" in cms.stderr and "CMS ccipra.txt" in cms.stderr
    bad = tmp_path / "bad-ptp.txt"
    bad.write_text("83036\t36415\t\t20250101\t*\t7\tbad indicator\n")
    result = runner.invoke(app, ["claim", "build", path, "--ptp-file", str(bad)])
    assert result.exit_code == 2 and "modifier indicator '7'" in result.stderr
