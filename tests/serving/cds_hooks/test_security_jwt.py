"""Every call needs a valid CDS Client JWT; every way of getting it wrong is a 401."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from serving.app import create_app
from serving.cds_hooks.clients import cached_clients
from serving.settings import Settings
from tests.serving.cds_hooks.conftest import BASE_URL, ISS, ISS_REMOTE, Ehr, FhirServer

DISCOVERY = "/cds-services"


def _assert_401(response: Any, code: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_discovery_lists_the_three_hooks(ehr_no_model: Ehr) -> None:
    response = ehr_no_model.get(DISCOVERY)
    assert response.status_code == 200, response.text
    services = response.json()["services"]
    assert {s["hook"] for s in services} == {"encounter-discharge", "patient-view", "order-sign"}
    for s in services:
        assert set(s) == {"hook", "title", "description", "id", "prefetch"}
        assert s["id"] and s["title"] and s["description"]
        assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    discharge = next(s for s in services if s["hook"] == "encounter-discharge")
    assert discharge["prefetch"]["notes"] == (
        "DocumentReference?patient={{context.patientId}}&encounter={{context.encounterId}}"
    )


@pytest.mark.parametrize("alg, kid", [("RS384", "rsa-1"), ("ES384", "ec-1")])
def test_asymmetric_algorithms_are_accepted(ehr_no_model: Ehr, alg: str, kid: str) -> None:
    assert ehr_no_model.get(DISCOVERY, alg=alg, kid=kid).status_code == 200


def test_aud_may_be_an_array(ehr_no_model: Ehr) -> None:
    token = ehr_no_model.token([BASE_URL + DISCOVERY, "https://elsewhere.test"])
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_missing_authorization_is_refused(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.client.get(DISCOVERY), "missing_token")
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": "Basic abc"})
    _assert_401(response, "missing_token")


def test_bad_signature_is_refused(ehr_no_model: Ehr) -> None:
    forged = ehr_no_model.token(BASE_URL + DISCOVERY, key=ehr_no_model.keys.other_rsa_private)
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {forged}"})
    _assert_401(response, "bad_signature")


def test_tampered_payload_is_refused(ehr_no_model: Ehr) -> None:
    token = ehr_no_model.token(BASE_URL + DISCOVERY)
    header, payload, sig = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["iss"] = ISS
    claims["tenant"] = "someone-else"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    forged = ".".join([header, forged_payload, sig])
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {forged}"})
    _assert_401(response, "bad_signature")


@pytest.mark.parametrize(
    "aud",
    [
        BASE_URL + "/cds-services/chartcoder-discharge-coding",  # another endpoint
        "https://evil.test/cds-services",
        BASE_URL,
    ],
)
def test_wrong_audience_is_refused(ehr_no_model: Ehr, aud: str) -> None:
    token = ehr_no_model.token(aud)
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, "wrong_audience")


def test_expired_token_is_refused(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, exp_in=-120, iat_offset=-300), "expired_token")


def test_token_issued_in_the_future_is_refused(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, iat_offset=600, exp_in=900), "token_not_yet_valid")


def test_overlong_lifetime_is_refused(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, exp_in=7200), "token_lifetime")


def test_unknown_issuer_is_refused(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, iss="https://unknown-ehr.test"), "unknown_issuer")


def test_replayed_jti_is_refused(ehr_no_model: Ehr) -> None:
    token = ehr_no_model.token(BASE_URL + DISCOVERY, jti="once-only")
    headers = {"Authorization": f"Bearer {token}"}
    assert ehr_no_model.client.get(DISCOVERY, headers=headers).status_code == 200
    _assert_401(ehr_no_model.client.get(DISCOVERY, headers=headers), "replayed_jti")
    # A fresh token that reuses the jti is a replay too.
    _assert_401(ehr_no_model.get(DISCOVERY, jti="once-only"), "replayed_jti")


def test_alg_none_is_refused(ehr_no_model: Ehr) -> None:
    token = jwt.encode(
        {"iss": ISS, "aud": BASE_URL + DISCOVERY, "exp": 2**31, "iat": 0, "jti": "n"},
        None,
        algorithm="none",
        headers={"kid": "rsa-1"},
    )
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, "algorithm_not_allowed")


def test_hmac_is_refused_even_keyed_with_the_public_key(ehr_no_model: Ehr) -> None:
    # The classic algorithm-confusion attack: HS256 keyed with the client's public key PEM.
    pem = ehr_no_model.keys.rsa_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import time

    now = int(time.time())
    claims = {"iss": ISS, "aud": BASE_URL + DISCOVERY, "exp": now + 60, "iat": now, "jti": "h"}
    header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
    signing_input = (
        jwt.utils.base64url_encode(json.dumps(header).encode()).decode()
        + "."
        + jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    )
    import hashlib
    import hmac

    sig = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + jwt.utils.base64url_encode(sig).decode()
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, "algorithm_not_allowed")
    # And a plain shared-secret HS512 token.
    token = jwt.encode(claims | {"jti": "h2"}, "s" * 64, algorithm="HS512", headers={"kid": "x"})
    response = ehr_no_model.client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
    _assert_401(response, "algorithm_not_allowed")


@pytest.mark.parametrize("claim", ["jti", "exp", "iat", "aud"])
def test_required_claims(ehr_no_model: Ehr, claim: str) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, drop=(claim,)), "missing_claim")


def test_kid_is_required_and_must_be_known(ehr_no_model: Ehr) -> None:
    _assert_401(ehr_no_model.get(DISCOVERY, kid=None), "missing_kid")
    _assert_401(ehr_no_model.get(DISCOVERY, kid="no-such-key"), "unknown_kid")


def test_key_algorithm_must_match_the_jwk(ehr_no_model: Ehr) -> None:
    # rsa-1 is declared RS384 in the JWK Set; a PS256 token with that key is refused.
    _assert_401(ehr_no_model.get(DISCOVERY, alg="PS256"), "invalid_token")


def test_jwks_url_client(ehr_no_model: Ehr, fhir_server: FhirServer, clients_file: Path) -> None:
    cached_clients(clients_file).forget_fetched_keys()
    fhir_server.requests.clear()
    other = ehr_no_model.keys.other_rsa_private
    ok = ehr_no_model.get(DISCOVERY, iss=ISS_REMOTE, alg="RS256", kid="remote-1", key=other)
    assert ok.status_code == 200, ok.text
    assert any(path == "/jwks/remote.json" for path, _ in fhir_server.requests)


def test_jku_only_from_the_allow_list(
    ehr_no_model: Ehr, fhir_server: FhirServer, clients_file: Path
) -> None:
    cached_clients(clients_file).forget_fetched_keys()
    fhir_server.requests.clear()
    other = ehr_no_model.keys.other_rsa_private
    allowed = {"jku": f"{fhir_server.base_url}/jwks/rotated.json"}
    ok = ehr_no_model.get(
        DISCOVERY, iss=ISS_REMOTE, alg="RS256", kid="remote-1", key=other, headers=allowed
    )
    assert ok.status_code == 200, ok.text
    assert any(path == "/jwks/rotated.json" for path, _ in fhir_server.requests)

    fhir_server.add_json("/jwks/attacker.json", ehr_no_model.keys.remote_jwks())
    evil = {"jku": f"{fhir_server.base_url}/jwks/attacker.json"}
    refused = ehr_no_model.get(
        DISCOVERY, iss=ISS_REMOTE, alg="RS256", kid="remote-1", key=other, headers=evil
    )
    _assert_401(refused, "jku_not_allowed")
    assert not any(path == "/jwks/attacker.json" for path, _ in fhir_server.requests)
    # A client with an inline JWK Set and no allow-list accepts no jku at all.
    _assert_401(ehr_no_model.get(DISCOVERY, headers=evil), "jku_not_allowed")


def test_service_and_feedback_endpoints_need_a_jwt_too(ehr_no_model: Ehr) -> None:
    for path in (
        "/cds-services/chartcoder-discharge-coding",
        "/cds-services/chartcoder-discharge-coding/feedback",
    ):
        _assert_401(ehr_no_model.client.post(path, json={}), "missing_token")
        # A token minted for discovery does not open a service endpoint.
        token = ehr_no_model.token(BASE_URL + DISCOVERY)
        response = ehr_no_model.client.post(
            path, json={}, headers={"Authorization": f"Bearer {token}"}
        )
        _assert_401(response, "wrong_audience")


def test_no_clients_configured_refuses_everyone(tmp_path: Path, ehr_no_model: Ehr) -> None:
    settings = Settings(
        data_dir=tmp_path / "other",
        model_dir=tmp_path / "none",
        public_base_url=BASE_URL,
        train_default_model=False,
    )
    with TestClient(create_app(settings)) as client:
        token = ehr_no_model.token(BASE_URL + DISCOVERY)
        response = client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
        _assert_401(response, "no_cds_clients")


def test_invalid_clients_file_names_the_field(tmp_path: Path, ehr_no_model: Ehr) -> None:
    bad = tmp_path / "bad-clients.json"
    bad.write_text(json.dumps({"clients": [{"iss": ISS, "jwks": {"keys": [{"kty": "oct"}]}}]}))
    settings = Settings(
        data_dir=tmp_path / "other",
        model_dir=tmp_path / "none",
        cds_clients=bad,
        public_base_url=BASE_URL,
        train_default_model=False,
    )
    with TestClient(create_app(settings)) as client:
        token = ehr_no_model.token(BASE_URL + DISCOVERY)
        response = client.get(DISCOVERY, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503
        assert response.json()["error"]["field"] == "clients[0].jwks.keys[0].kty"
