"""/healthz, /readyz (model loaded + database reachable) and /metrics (Prometheus)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from serving.app import create_app
from serving.settings import Settings
from tests.serving.conftest import Keys


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_healthz_and_readyz_when_everything_is_up(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    r = api.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["model"]["ok"] and body["checks"]["database"]["ok"]
    assert body["model_version"] == api.app.state.registry.active_version  # type: ignore[attr-defined]


def test_readyz_is_503_without_a_model_and_suggestions_say_why(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        model_dir=tmp_path / "missing-model",
        train_default_model=False,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.headers["Retry-After"]
        assert r.json()["checks"]["model"]["ok"] is False
        assert r.json()["checks"]["database"]["ok"] is True
        assert c.get("/healthz").status_code == 200


def test_metrics_count_requests_per_route_template_and_track_acceptance(
    api: TestClient, api_keys: Keys, note_text: str
) -> None:
    h = api_keys.headers("coder")
    ss = api.post("/v1/suggestions", json={"text": note_text, "top_k": 4}, headers=h).json()
    api.get(f"/v1/suggestions/{ss['id']}", headers=h)
    api.get("/v1/suggestions/00000000-0000-0000-0000-000000000000", headers=h)
    c0, c1 = ss["codes"][0], ss["codes"][1]
    review = {
        "decisions": [
            {"system": c0["system"], "code": c0["code"], "action": "accept"},
            {"system": c1["system"], "code": c1["code"], "action": "reject", "reason": "negated"},
        ]
    }
    api.post(f"/v1/suggestions/{ss['id']}/review", json=review, headers=h)

    text = api.get("/metrics").text
    samples = _samples(text)
    route = "/v1/suggestions/{id}"
    assert (
        samples[
            (
                "chartcoder_http_requests_total",
                (("method", "GET"), ("route", route), ("status", "200")),
            )
        ]
        >= 1
    )
    assert (
        samples[
            (
                "chartcoder_http_requests_total",
                (("method", "GET"), ("route", route), ("status", "404")),
            )
        ]
        >= 1
    )
    assert ss["id"] not in text  # ids never become labels
    assert (
        samples[
            (
                "chartcoder_http_request_duration_seconds_count",
                (("method", "POST"), ("route", "/v1/suggestions")),
            )
        ]
        >= 1
    )
    served = samples[
        ("chartcoder_suggestions_served_total", (("model_version", ss["model_version"]),))
    ]
    assert served >= 1
    rate = samples[("chartcoder_acceptance_rate", ())]
    accepted = samples[("chartcoder_reviewed_codes", (("action", "accept"),))]
    rejected = samples[("chartcoder_reviewed_codes", (("action", "reject"),))]
    replaced = samples[("chartcoder_reviewed_codes", (("action", "replace"),))]
    assert accepted >= 1 and rejected >= 1
    assert rate == accepted / (accepted + rejected + replaced)


def test_each_app_has_its_own_metrics_registry(tmp_path: Path) -> None:
    a = create_app(Settings(data_dir=tmp_path / "a", train_default_model=False))
    b = create_app(Settings(data_dir=tmp_path / "b", train_default_model=False))
    assert a.state.metrics.registry is not b.state.metrics.registry
