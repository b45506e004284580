"""The audit half of the issue's round trip through the real API and the real model:
suggest -> review with an added code -> the low-confidence sample finds that case -> verdict ->
stats. Uses the serving conftest's module app (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.serving.conftest import Keys

EXTRA_CODES = ("K21.9", "J45.909", "Z79.84", "M54.50", "E78.5")


def _suggest(client: TestClient, keys: Keys, text: str) -> dict[str, Any]:
    r = client.post(
        "/v1/suggestions", json={"text": text, "top_k": 5}, headers=keys.headers("coder")
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    assert len(body["codes"]) >= 2
    return body


def _review(
    client: TestClient, keys: Keys, sset: dict[str, Any], keep: int, added: list[str]
) -> dict[str, Any]:
    decisions = [
        {"system": c["system"], "code": c["code"], "action": "accept"}
        if i < keep
        else {
            "system": c["system"],
            "code": c["code"],
            "action": "reject",
            "reason": "not_documented",
        }
        for i, c in enumerate(sset["codes"])
    ]
    body = {
        "decisions": decisions,
        "added": [{"system": "ICD-10-CM", "code": c, "evidence": []} for c in added],
    }
    r = client.post(
        f"/v1/suggestions/{sset['id']}/review", json=body, headers=keys.headers("coder")
    )
    assert r.status_code in (200, 201), r.text
    out: dict[str, Any] = r.json()
    return out


def test_round_trip_suggest_review_sample_verdict_stats(
    client: TestClient, keys: Keys, note_text: str
) -> None:
    confident = _suggest(client, keys, note_text)
    _review(client, keys, confident, keep=1, added=[])
    unsure = _suggest(client, keys, note_text)
    suggested = {c["code"] for c in unsure["codes"]}
    extra = next(c for c in EXTRA_CODES if c not in suggested)
    _review(client, keys, unsure, keep=2, added=[extra])

    auditor = keys.headers("auditor")
    r = client.get(
        "/v1/audit/sample", params={"n": 1, "strategy": "low_confidence"}, headers=auditor
    )
    assert r.status_code == 200, r.text
    sample = r.json()
    assert sample["population"] == 2
    [case] = sample["cases"]
    assert case["suggestion_set_id"] == unsure["id"]  # the coder had to add a code: score 0
    assert case["score_min"] == 0.0
    assert case["reviewer"] == keys.name("coder")
    final = {(c["system"], c["code"]): c for c in case["final_codes"]}
    assert final[("ICD-10-CM", extra)]["source"] == "added"
    for c in unsure["codes"][:2]:
        assert final[(c["system"], c["code"])]["score"] == c["score"]

    verdict = {
        "codes": [
            {
                "system": system,
                "code": code,
                "verdict": "disagree" if code == extra else "agree",
            }
            for system, code in final
        ],
        "corrected_codes": [],
        "comment": "added code not supported by the note",
    }
    r = client.post(f"/v1/audit/cases/{case['id']}/verdict", json=verdict, headers=auditor)
    assert r.status_code == 201, r.text
    assert r.json()["agree"] is False

    stats = client.get("/v1/audit/stats", headers=auditor).json()
    n = len(final)
    assert stats["cases_sampled"] == 1
    assert stats["overall"]["cases"] == {"n": 1, "agreed": 0, "rate": 0.0}
    assert stats["overall"]["codes"]["n"] == n
    assert stats["overall"]["codes"]["agreed"] == n - 1
    [coder] = stats["by_coder"]
    assert coder["key"] == keys.name("coder")
    bands = {b["key"]: b for b in stats["by_band"]}
    assert bands["<0.5"]["cases"]["n"] == 1
    # The confident case is still there to sample; the audited one is not.
    rest = client.get("/v1/audit/sample", params={"n": 5, "dry_run": True}, headers=auditor)
    assert [c["suggestion_set_id"] for c in rest.json()["cases"]] == [confident["id"]]
