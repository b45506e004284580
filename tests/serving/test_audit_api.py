"""`/v1/audit`: sampling strategies, reproducibility, exclusion, verdicts, stats, roles.

Cases are written through the ORM with exact scores so every expected number can be worked out
by hand (see `test_stats_numbers_hand_checked`). Runs on SQLite and, when reachable, PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.serving.registry_audit_fixtures import add_reviewed_case, add_user, make_app, ra_db_url

__all__ = ["ra_db_url"]

ICD = "ICD-10-CM"


@dataclass
class Env:
    client: TestClient
    auditor: dict[str, str]
    coder: dict[str, str]
    admin: dict[str, str]
    cases: dict[str, tuple[str, int]]  # name -> (suggestion_set_id, review_id)

    def add_case(self, **kwargs: Any) -> tuple[str, int]:
        factory = self.client.app.state.session_factory  # type: ignore[attr-defined]
        with factory() as session:
            out = add_reviewed_case(session, **kwargs)
            session.commit()
        return out


def _seed_cases(env: Env) -> None:
    """Five reviewed cases with hand-picked scores (score_min -> band):

    A coder-a  E11.9 .97, I10 .96                  -> .96  >=0.95
    B coder-a  E11.9 .90, I10 .60                  -> .60  0.5-0.8
    C coder-b  J06.9 .85 + CPT 99213 added (0.0)   -> 0.0  <0.5   (mean .425)
    D coder-b  I10 .30                             -> .30  <0.5
    E coder-b  N18.9 .82                           -> .82  0.8-0.95
    """
    env.cases["A"] = env.add_case(
        suggested=[(ICD, "E11.9", 0.97), (ICD, "I10", 0.96)],
        final=[(ICD, "E11.9", "model"), (ICD, "I10", "model")],
        reviewer="coder-a",
    )
    env.cases["B"] = env.add_case(
        suggested=[(ICD, "E11.9", 0.9), (ICD, "I10", 0.6)],
        final=[(ICD, "E11.9", "model"), (ICD, "I10", "model")],
        reviewer="coder-a",
    )
    env.cases["C"] = env.add_case(
        suggested=[(ICD, "J06.9", 0.85)],
        final=[(ICD, "J06.9", "model"), ("CPT", "99213", "added")],
        reviewer="coder-b",
    )
    env.cases["D"] = env.add_case(
        suggested=[(ICD, "I10", 0.3)], final=[(ICD, "I10", "model")], reviewer="coder-b"
    )
    env.cases["E"] = env.add_case(
        suggested=[(ICD, "N18.9", 0.82)], final=[(ICD, "N18.9", "model")], reviewer="coder-b"
    )


@pytest.fixture
def env(ra_db_url: str, tmp_path: Path) -> Iterator[Env]:
    with make_app(ra_db_url, tmp_path / "data") as client:
        e = Env(
            client,
            auditor=add_user(client, "auditor-1", "auditor"),
            coder=add_user(client, "coder-x", "coder"),
            admin=add_user(client, "admin-1", "admin"),
            cases={},
        )
        _seed_cases(e)
        yield e


def _ids(body: dict[str, Any]) -> list[int]:
    return [c["review_id"] for c in body["cases"]]


def _sample(env: Env, expect: int = 200, **params: Any) -> dict[str, Any]:
    r = env.client.get("/v1/audit/sample", params=params, headers=env.auditor)
    assert r.status_code == expect, r.text
    body: dict[str, Any] = r.json()
    return body


def test_low_confidence_sample_then_excludes_audited_cases(env: Env) -> None:
    c, d = env.cases["C"][1], env.cases["D"][1]
    first = _sample(env, n=2, strategy="low_confidence", seed=1)
    assert _ids(first) == [c, d]
    assert [x["score_min"] for x in first["cases"]] == [0.0, 0.3]
    assert first["cases"][0]["score_mean"] == pytest.approx(0.425)
    assert first["cases"][0]["final_codes"][1] == {
        "system": "CPT",
        "code": "99213",
        "source": "added",
        "score": 0.0,
    }
    assert first["population"] == 5
    # Recorded: who, strategy, seed.
    case = env.client.get(f"/v1/audit/cases/{first['cases'][0]['id']}", headers=env.auditor)
    assert case.status_code == 200
    assert case.json()["created_by"] == "auditor-1"
    assert (case.json()["strategy"], case.json()["seed"]) == ("low_confidence", 1)
    assert case.json()["reviewer"] == "coder-b"
    # Audited cases are not drawn again.
    rest = _sample(env, n=10, strategy="low_confidence")
    assert _ids(rest) == [env.cases[k][1] for k in ("B", "E", "A")]
    assert rest["population"] == 3
    assert _sample(env, n=5, strategy="random")["cases"] == []
    # A re-review makes the case eligible again, at its new revision.
    env.add_case(
        suggested=[],
        final=[(ICD, "I10", "model"), (ICD, "E78.5", "added")],
        reviewer="coder-c",
        revision=2,
        suggestion_set_id=env.cases["D"][0],
    )
    again = _sample(env, n=5, strategy="random", seed=3)
    assert len(again["cases"]) == 1
    assert again["cases"][0]["revision"] == 2
    assert again["cases"][0]["reviewer"] == "coder-c"
    assert again["cases"][0]["score_min"] == 0.0  # E78.5 was never suggested


def test_random_sample_is_reproducible_by_seed(env: Env) -> None:
    preview = _sample(env, n=3, strategy="random", seed=11, dry_run=True)
    assert _ids(_sample(env, n=3, strategy="random", seed=11, dry_run=True)) == _ids(preview)
    assert len(set(_ids(preview))) == 3
    # No seed: one is generated and returned; resending it reproduces the draw.
    auto = _sample(env, n=3, strategy="random", dry_run=True)
    assert isinstance(auto["seed"], int)
    assert _ids(_sample(env, n=3, strategy="random", seed=auto["seed"], dry_run=True)) == _ids(auto)
    # The recorded draw equals the preview; previews write nothing.
    drawn = _sample(env, n=3, strategy="random", seed=11)
    assert _ids(drawn) == _ids(preview)
    assert all(c["id"] > 0 for c in drawn["cases"])
    stats = env.client.get("/v1/audit/stats", headers=env.auditor).json()
    assert stats["cases_sampled"] == 3


def test_stratified_sample_reports_band_sizes(env: Env) -> None:
    body = _sample(env, n=4, strategy="stratified", seed=5)
    assert body["bands"] == [
        {"band": "<0.5", "population": 2, "sampled": 1},
        {"band": "0.5-0.8", "population": 1, "sampled": 1},
        {"band": "0.8-0.95", "population": 1, "sampled": 1},
        {"band": ">=0.95", "population": 1, "sampled": 1},
    ]
    assert sorted(c["band"] for c in body["cases"]) == sorted(
        ["<0.5", "0.5-0.8", "0.8-0.95", ">=0.95"]
    )
    assert {c["strategy"] for c in body["cases"]} == {"stratified"}


BAD_SAMPLE_PARAMS = [
    ({"n": 0}, "n"),
    ({"n": 100000}, "n"),
    ({"strategy": "worst_first"}, "strategy"),
    ({"seed": -1}, "seed"),
    ({"n": "ten"}, "n"),
]


def test_bad_sample_parameters_are_422_naming_the_field(env: Env) -> None:
    for params, field in BAD_SAMPLE_PARAMS:
        r = env.client.get("/v1/audit/sample", params=params, headers=env.auditor)
        assert r.status_code == 422, params
        assert r.json()["error"]["field"] == field, params
    assert env.client.get("/v1/audit/stats", headers=env.auditor).json()["cases_sampled"] == 0


def _case_id(env: Env, name: str) -> int:
    body = _sample(env, n=5, strategy="low_confidence")
    ids = {c["review_id"]: c["id"] for c in body["cases"]}
    return ids[env.cases[name][1]]


BAD_VERDICTS: list[tuple[dict[str, Any], str, str]] = [
    (  # a final code left without a verdict
        {"codes": [{"system": ICD, "code": "E11.9", "verdict": "agree"}]},
        "codes",
        "no verdict for ICD-10-CM I10",
    ),
    (  # a code that is not among the case's final codes
        {
            "codes": [
                {"system": ICD, "code": "E11.9", "verdict": "agree"},
                {"system": ICD, "code": "I10", "verdict": "agree"},
                {"system": ICD, "code": "J45.909", "verdict": "disagree"},
            ]
        },
        "codes[2]",
        "J45.909 is not a final code",
    ),
    (  # corrected codes must exist in the catalog, and be billable
        {
            "codes": [
                {"system": ICD, "code": "E11.9", "verdict": "agree"},
                {"system": ICD, "code": "I10", "verdict": "disagree"},
            ],
            "corrected_codes": [
                {"system": ICD, "code": "I12.9"},
                {"system": ICD, "code": "ZZZ.99"},
                {"system": ICD, "code": "I12"},
            ],
        },
        "corrected_codes[1]",
        "ZZZ.99 is not in the code catalog",
    ),
    (
        {
            "codes": [
                {"system": ICD, "code": "E11.9", "verdict": "maybe"},
                {"system": ICD, "code": "I10", "verdict": "agree"},
            ]
        },
        "codes[0].verdict",
        "",
    ),
    (
        {"codes": [{"system": "ICD-9", "code": "250.00", "verdict": "agree"}]},
        "codes[0].system",
        "",
    ),
]


def test_bad_verdicts_are_422_and_store_nothing(env: Env) -> None:
    case_id = _case_id(env, "B")
    for verdict, field, fragment in BAD_VERDICTS:
        r = env.client.post(f"/v1/audit/cases/{case_id}/verdict", json=verdict, headers=env.auditor)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["field"] == field
        assert fragment in error["message"]
        if field.startswith("corrected_codes"):
            assert "I12 is a header" in error["message"]  # every bad code is named
            assert "I12.9 " not in error["message"]  # the good one is not
    after = env.client.get(f"/v1/audit/cases/{case_id}", headers=env.auditor).json()
    assert after["verdicts"] == []


def test_verdict_on_unknown_case_is_404(env: Env) -> None:
    r = env.client.post("/v1/audit/cases/999999/verdict", json={"codes": []}, headers=env.auditor)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "audit_case_not_found"


def _verdict(env: Env, case_id: int, codes: dict[str, str], corrected: list[str] = ()) -> Any:
    body = {
        "codes": [
            {"system": "CPT" if code.isdigit() else ICD, "code": code, "verdict": v}
            for code, v in codes.items()
        ],
        "corrected_codes": [{"system": ICD, "code": c} for c in corrected],
        "comment": "checked",
    }
    r = env.client.post(f"/v1/audit/cases/{case_id}/verdict", json=body, headers=env.auditor)
    assert r.status_code == 201, r.text
    return r.json()


def test_stats_numbers_hand_checked(env: Env) -> None:
    ids = {c["review_id"]: c["id"] for c in _sample(env, n=5, strategy="low_confidence")["cases"]}
    case = {name: ids[env.cases[name][1]] for name in "ABCDE"}
    first_b = _verdict(env, case["B"], {"E11.9": "agree", "I10": "disagree"}, ["I12.9"])
    assert first_b["agree"] is False
    latest_b = _verdict(env, case["B"], {"E11.9": "agree", "I10": "agree"})  # a second opinion
    assert latest_b["agree"] is True and latest_b["id"] != first_b["id"]
    _verdict(env, case["C"], {"J06.9": "agree", "99213": "disagree"}, ["J02.9"])
    _verdict(env, case["D"], {"I10": "agree"})
    _verdict(env, case["E"], {"N18.9": "disagree"})
    # History is kept: both verdicts on B, oldest first.
    history = env.client.get(f"/v1/audit/cases/{case['B']}", headers=env.auditor).json()
    assert [v["id"] for v in history["verdicts"]] == [first_b["id"], latest_b["id"]]
    assert history["verdicts"][0]["corrected_codes"] == [{"system": ICD, "code": "I12.9"}]

    r = env.client.get("/v1/audit/stats", headers=env.auditor)
    assert r.status_code == 200
    s = r.json()
    # Latest verdicts: B agrees 2/2, C disagrees 1/2, D agrees 1/1, E disagrees 0/1; A has none.
    assert (s["cases_sampled"], s["cases_with_verdict"]) == (5, 4)
    assert s["overall"]["cases"] == {"n": 4, "agreed": 2, "rate": 0.5}
    assert s["overall"]["codes"] == {"n": 6, "agreed": 4, "rate": pytest.approx(4 / 6, abs=1e-6)}
    coders = {g["key"]: g for g in s["by_coder"]}
    assert coders["coder-a"]["cases"] == {"n": 1, "agreed": 1, "rate": 1.0}
    assert coders["coder-a"]["codes"] == {"n": 2, "agreed": 2, "rate": 1.0}
    assert coders["coder-b"]["cases"] == {"n": 3, "agreed": 1, "rate": pytest.approx(1 / 3)}
    assert coders["coder-b"]["codes"] == {"n": 4, "agreed": 2, "rate": 0.5}
    systems = {g["key"]: g for g in s["by_system"]}
    assert systems[ICD]["codes"] == {"n": 5, "agreed": 4, "rate": 0.8}
    assert systems["CPT"]["codes"] == {"n": 1, "agreed": 0, "rate": 0.0}
    assert systems[ICD]["cases"] is None
    bands = {g["key"]: g for g in s["by_band"]}
    assert list(bands) == ["<0.5", "0.5-0.8", "0.8-0.95", ">=0.95"]
    assert bands["<0.5"]["cases"] == {"n": 2, "agreed": 1, "rate": 0.5}
    assert bands["<0.5"]["codes"] == {"n": 3, "agreed": 2, "rate": pytest.approx(2 / 3)}
    assert bands["0.5-0.8"]["cases"] == {"n": 1, "agreed": 1, "rate": 1.0}
    assert bands["0.8-0.95"]["codes"] == {"n": 1, "agreed": 0, "rate": 0.0}
    assert bands[">=0.95"]["cases"] == {"n": 0, "agreed": 0, "rate": None}


ROUTES = [
    ("get", "/v1/audit/sample"),
    ("get", "/v1/audit/stats"),
    ("get", "/v1/audit/cases/1"),
    ("post", "/v1/audit/cases/1/verdict"),
]


def test_roles(env: Env) -> None:
    ehr = add_user(env.client, "ehr-1", "ehr")
    for method, path in ROUTES:
        kwargs: dict[str, Any] = {"json": {"codes": []}} if method == "post" else {}
        call = getattr(env.client, method)
        assert call(path, **kwargs).status_code == 401
        bad_key = {"Authorization": "Bearer cc_nope"}
        assert call(path, headers=bad_key, **kwargs).status_code == 401
        forbidden = call(path, headers=env.coder, **kwargs)
        assert forbidden.status_code == 403, path
        assert forbidden.json()["error"]["code"] == "forbidden_role"
        assert call(path, headers=ehr, **kwargs).status_code == 403
        # auditors and admins pass the role check (a 404/422 is about the case, not the role)
        for headers in (env.auditor, env.admin):
            assert call(path, headers=headers, **kwargs).status_code not in (401, 403), path


def test_concurrent_samplers_never_draw_the_same_case(env: Env) -> None:
    drawn: list[int] = []
    failures: list[str] = []
    lock = threading.Lock()

    def draw(seed: int) -> None:
        r = env.client.get(
            "/v1/audit/sample",
            params={"n": 2, "strategy": "random", "seed": seed},
            headers=env.auditor,
        )
        with lock:
            if r.status_code != 200:
                failures.append(r.text)
            else:
                drawn.extend(_ids(r.json()))

    threads = [threading.Thread(target=draw, args=(seed,)) for seed in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    assert sorted(drawn) == sorted(review_id for _, review_id in env.cases.values())
