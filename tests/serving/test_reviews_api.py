"""POST /v1/suggestions/{id}/review: decisions, added codes, final code set, revisions, and a
422 naming every bad code or field."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from serving.db.models import CorrectionEventRow, ReviewRow
from tests.serving.conftest import Keys


def _suggest(api: TestClient, api_keys: Keys, text: str, top_k: int = 10) -> dict[str, Any]:
    r = api.post(
        "/v1/suggestions", json={"text": text, "top_k": top_k}, headers=api_keys.headers("coder")
    )
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    assert len(out["codes"]) >= 3, "the test model must suggest at least three codes here"
    return out


def _review(
    api: TestClient, api_keys: Keys, set_id: str, body: dict[str, Any], role: str = "coder"
) -> Any:
    return api.post(f"/v1/suggestions/{set_id}/review", json=body, headers=api_keys.headers(role))


def _rows(api: TestClient, set_id: str) -> tuple[int, int]:
    with api.app.state.session_factory() as s:  # type: ignore[attr-defined]
        reviews = s.scalar(
            select(func.count()).select_from(ReviewRow).where(ReviewRow.suggestion_set_id == set_id)
        )
        events = s.scalar(
            select(func.count())
            .select_from(CorrectionEventRow)
            .where(CorrectionEventRow.suggestion_set_id == set_id)
        )
    return reviews or 0, events or 0


def _other_code(api: TestClient, api_keys: Keys, system: str, avoid: set[str]) -> str:
    """A billable catalog code of `system` that the model did not suggest."""
    for q in ("hyperlipidemia", "asthma", "office visit established", "glucose test strips"):
        r = api.get(
            "/v1/codes/search", params={"q": q, "system": system}, headers=api_keys.headers("coder")
        )
        for hit in r.json()["results"]:
            if hit["billable"] and hit["code"] not in avoid:
                return str(hit["code"])
    raise AssertionError(f"no {system} code found")


def test_review_builds_the_final_code_set_and_logs_each_correction(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss = _suggest(api, api_keys, note_text)
    codes = ss["codes"]
    first, second, third = codes[0], codes[1], codes[2]
    suggested = {c["code"] for c in codes}
    same_system_new = _other_code(api, api_keys, third["system"], suggested)
    added_code = _other_code(api, api_keys, "ICD-10-CM", suggested | {same_system_new})
    start = note_text.index("Hyperlipidemia")
    body = {
        "decisions": [
            {"system": first["system"], "code": first["code"], "action": "accept"},
            {
                "system": second["system"],
                "code": second["code"],
                "action": "reject",
                "reason": "negated",
                "comment": "patient denies it",
            },
            {
                "system": third["system"],
                "code": third["code"],
                "action": "replace",
                "reason": "wrong_specificity",
                "replacement": {"system": third["system"], "code": same_system_new},
            },
        ],
        "added": [
            {
                "system": "ICD-10-CM",
                "code": added_code.replace(".", "").lower(),  # any case, dotted or not
                "evidence": [{"start": start, "end": start + len("Hyperlipidemia")}],
            }
        ],
    }
    r = _review(api, api_keys, ss["id"], body)
    assert r.status_code == 201, r.text
    review = r.json()
    assert review["revision"] == 1
    assert review["created_by"] == api_keys.name("coder")
    final = {(c["system"], c["code"]): c for c in review["final_codes"]}
    assert (first["system"], first["code"]) in final
    assert (second["system"], second["code"]) not in final
    assert (third["system"], third["code"]) not in final
    replaced = final[(third["system"], same_system_new)]
    assert replaced["source"] == "replacement"
    assert replaced["model_score"] == third["score"]
    added = final[("ICD-10-CM", added_code)]
    assert added["source"] == "added"
    assert added["model_score"] is None
    assert added["evidence"] == [
        {"start": start, "end": start + len("Hyperlipidemia"), "text": "Hyperlipidemia"}
    ]
    # Undecided codes keep the model's own decision.
    for c in codes[3:]:
        assert ((c["system"], c["code"]) in final) == c["accepted"]
    assert _rows(api, ss["id"]) == (1, 4)

    got = api.get(f"/v1/suggestions/{ss['id']}", headers=api_keys.headers("auditor")).json()
    assert got["review"] == review


def test_re_review_adds_a_revision_and_keeps_history(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss = _suggest(api, api_keys, note_text)
    c = ss["codes"][0]
    accept = {"decisions": [{"system": c["system"], "code": c["code"], "action": "accept"}]}
    reject = {
        "decisions": [
            {"system": c["system"], "code": c["code"], "action": "reject", "reason": "history_only"}
        ]
    }
    r1 = _review(api, api_keys, ss["id"], accept)
    r2 = _review(api, api_keys, ss["id"], reject)
    assert (r1.status_code, r2.status_code) == (201, 201)
    assert (r1.json()["revision"], r2.json()["revision"]) == (1, 2)
    assert (c["system"], c["code"]) in {(f["system"], f["code"]) for f in r1.json()["final_codes"]}
    assert (c["system"], c["code"]) not in {
        (f["system"], f["code"]) for f in r2.json()["final_codes"]
    }
    assert _rows(api, ss["id"]) == (2, 2)
    latest = api.get(f"/v1/suggestions/{ss['id']}", headers=api_keys.headers("coder")).json()
    assert latest["review"]["revision"] == 2


def test_an_empty_review_accepts_what_the_model_accepted(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss = _suggest(api, api_keys, note_text)
    r = _review(api, api_keys, ss["id"], {})
    assert r.status_code == 201
    assert [(f["system"], f["code"]) for f in r.json()["final_codes"]] == [
        (c["system"], c["code"]) for c in ss["codes"] if c["accepted"]
    ]


def _bad_cases(ss: dict[str, Any], text_len: int) -> list[tuple[str, dict[str, Any], str, str]]:
    c0, c1 = ss["codes"][0], ss["codes"][1]
    ref0 = {"system": c0["system"], "code": c0["code"]}
    return [
        (
            "unknown added code",
            {"added": [{"system": "ICD-10-CM", "code": "Q99.999X", "evidence": []}]},
            "added[0].code",
            "Q99.999X",
        ),
        (
            "header code added",
            {"added": [{"system": "ICD-10-CM", "code": "E11", "evidence": []}]},
            "added[0].code",
            "E11",
        ),
        (
            "malformed CPT replacement",
            {
                "decisions": [
                    {**ref0, "action": "replace", "replacement": {"system": "CPT", "code": "9921"}}
                ]
            },
            "decisions[0].replacement.code",
            "9921",
        ),
        (
            "decision on a code that was not suggested",
            {"decisions": [{"system": "ICD-10-CM", "code": "Z00.00", "action": "accept"}]},
            "decisions[0].code",
            "Z00.00",
        ),
        (
            "reject without a reason",
            {"decisions": [{**ref0, "action": "reject"}]},
            "decisions[0].reason",
            "reason",
        ),
        (
            "replace without a replacement",
            {"decisions": [{**ref0, "action": "replace"}]},
            "decisions[0].replacement",
            "replacement",
        ),
        (
            "reason other without comment",
            {"decisions": [{**ref0, "action": "reject", "reason": "other"}]},
            "decisions[0].comment",
            "comment",
        ),
        (
            "two decisions on one code",
            {"decisions": [{**ref0, "action": "accept"}, {**ref0, "action": "accept"}]},
            "decisions[1]",
            c0["code"],
        ),
        (
            "added code that was suggested",
            {"added": [{"system": c1["system"], "code": c1["code"], "evidence": []}]},
            "added[0].code",
            c1["code"],
        ),
        (
            "evidence outside the note",
            {
                "added": [
                    {
                        "system": "ICD-10-CM",
                        "code": "E78.5",
                        "evidence": [{"start": 0, "end": text_len + 1}],
                    }
                ]
            },
            "added[0].evidence[0]",
            "note length",
        ),
        (
            "unknown action",
            {"decisions": [{**ref0, "action": "maybe"}]},
            "decisions[0].action",
            "accept",
        ),
        (
            "unknown reason",
            {"decisions": [{**ref0, "action": "reject", "reason": "tired"}]},
            "decisions[0].reason",
            "not_documented",
        ),
        (
            "unknown system",
            {"added": [{"system": "SNOMED", "code": "123", "evidence": []}]},
            "added[0].system",
            "ICD-10-CM",
        ),
        (
            "negative span",
            {
                "added": [
                    {"system": "ICD-10-CM", "code": "E78.5", "evidence": [{"start": -1, "end": 3}]}
                ]
            },
            "added[0].evidence[0].start",
            "greater than or equal",
        ),
        ("decisions not a list", {"decisions": {"code": "x"}}, "decisions", "list"),
        (
            "NUL in a comment",
            {"decisions": [{**ref0, "action": "accept", "comment": "a\x00b"}]},
            "decisions[0].comment",
            "NUL",
        ),
    ]


def test_every_bad_review_is_a_422_naming_the_field_and_writes_nothing(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss = _suggest(api, api_keys, note_text)
    for name, body, field, mention in _bad_cases(ss, len(note_text)):
        r = _review(api, api_keys, ss["id"], body)
        assert r.status_code == 422, (name, r.text)
        err = r.json()["error"]
        fields = [err.get("field")] + [d.get("field") for d in err.get("details") or []]
        assert field in fields, (name, err)
        assert mention in err["message"], (name, err["message"])
    assert _rows(api, ss["id"]) == (0, 0)


def test_all_bad_codes_are_reported_at_once(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    ss = _suggest(api, api_keys, note_text)
    body = {
        "added": [
            {"system": "ICD-10-CM", "code": "Q99.999X", "evidence": []},
            {"system": "HCPCS", "code": "Z9999", "evidence": []},
        ]
    }
    err = _review(api, api_keys, ss["id"], body).json()["error"]
    assert err["code"] == "invalid_review"
    assert {d["field"] for d in err["details"]} == {"added[0].code", "added[1].code"}
    assert "Q99.999X" in err["message"] and "Z9999" in err["message"]


@pytest.mark.parametrize("set_id", ["00000000-0000-0000-0000-000000000000", "nope"])
def test_review_of_an_unknown_set_is_a_404(api: TestClient, api_keys: Keys, set_id: str) -> None:
    r = _review(api, api_keys, set_id, {})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "suggestion_set_not_found"
