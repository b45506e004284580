"""Round trip: suggest -> review with corrections -> export (API and CLI) shows them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chartcoder.cli import app as cli
from serving.settings import Settings
from tests.serving.conftest import Keys


def _suggest_and_review(
    api: TestClient, api_keys: Keys, text: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    ss = api.post(
        "/v1/suggestions", json={"text": text, "top_k": 6}, headers=api_keys.headers("coder")
    ).json()
    c0, c1 = ss["codes"][0], ss["codes"][1]
    start = text.index("HbA1c")
    body = {
        "decisions": [
            {"system": c0["system"], "code": c0["code"], "action": "accept"},
            {
                "system": c1["system"],
                "code": c1["code"],
                "action": "reject",
                "reason": "not_documented",
            },
        ],
        "added": [
            {
                "system": "ICD-10-CM",
                "code": "R73.09",
                "evidence": [{"start": start, "end": start + 5}],
                "comment": "abnormal glucose",
            }
        ],
    }
    r = api.post(f"/v1/suggestions/{ss['id']}/review", json=body, headers=api_keys.headers("coder"))
    assert r.status_code == 201, r.text
    return ss, r.json()


def _export(api: TestClient, api_keys: Keys, **params: str) -> list[dict[str, Any]]:
    r = api.get("/v1/corrections/export", params=params, headers=api_keys.headers("admin"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in r.text.splitlines()]


def test_export_shows_the_review_with_note_text_final_codes_and_model_output(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss, review = _suggest_and_review(api, api_keys, note_text)
    rows = {row["suggestion_set_id"]: row for row in _export(api, api_keys, format="jsonl")}
    row = rows[ss["id"]]
    assert row["text"] == note_text
    assert row["model_version"] == ss["model_version"]
    assert row["model_codes"] == ss["codes"]
    assert row["final_codes"] == review["final_codes"]
    assert row["revision"] == 1
    assert row["reviewed_by"] == api_keys.name("coder")
    actions = {(c["action"], c["code"]) for c in row["corrections"]}
    assert ("accept", ss["codes"][0]["code"]) in actions
    assert ("reject", ss["codes"][1]["code"]) in actions
    assert ("add", "R73.09") in actions
    added = next(c for c in row["corrections"] if c["action"] == "add")
    assert added["evidence"][0]["text"] == "HbA1c"
    assert added["comment"] == "abnormal glucose"
    rejected = next(c for c in row["corrections"] if c["action"] == "reject")
    assert rejected["reason"] == "not_documented"
    assert rejected["model_score"] == ss["codes"][1]["score"]


def test_since_keeps_only_later_reviews_and_a_re_review_supersedes(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss, _ = _suggest_and_review(api, api_keys, note_text)
    cut = dt.datetime.now(dt.UTC)
    assert ss["id"] not in {
        r["suggestion_set_id"] for r in _export(api, api_keys, since=cut.isoformat())
    }
    c0 = ss["codes"][0]
    body = {
        "decisions": [
            {"system": c0["system"], "code": c0["code"], "action": "reject", "reason": "wrong_code"}
        ]
    }
    api.post(f"/v1/suggestions/{ss['id']}/review", json=body, headers=api_keys.headers("coder"))
    later = [
        r
        for r in _export(api, api_keys, since=cut.isoformat())
        if r["suggestion_set_id"] == ss["id"]
    ]
    assert len(later) == 1
    assert later[0]["revision"] == 2
    assert [c["action"] for c in later[0]["corrections"]] == ["reject"]
    everything = [r for r in _export(api, api_keys) if r["suggestion_set_id"] == ss["id"]]
    assert [r["revision"] for r in everything] == [2]


def test_bad_export_parameters_are_422(api: TestClient, api_keys: Keys) -> None:
    for params, field in (({"since": "yesterday"}, "since"), ({"format": "csv"}, "format")):
        r = api.get("/v1/corrections/export", params=params, headers=api_keys.headers("admin"))
        assert r.status_code == 422
        assert r.json()["error"]["field"] == field


def test_cli_export_writes_the_same_examples(
    api: TestClient, api_keys: Keys, note_text: str, serving_settings: Settings, tmp_path: Path
) -> None:
    _suggest_and_review(api, api_keys, note_text)
    out = tmp_path / "corrections.jsonl"
    env = {"CHARTCODER_DATABASE_URL": serving_settings.resolved_database_url}
    result = CliRunner().invoke(
        cli,
        ["corrections", "export", "--out", str(out), "--data-dir", str(serving_settings.data_dir)],
        env=env,
    )
    assert result.exit_code == 0, result.output
    from_cli = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert from_cli == _export(api, api_keys)
    assert len(from_cli) >= 1

    bad = CliRunner().invoke(cli, ["corrections", "export", "--since", "soon"], env=env)
    assert bad.exit_code == 2
    assert "--since" in bad.output
