"""Fixtures for the CDS Hooks tests: real signing keys, a JWT-signing EHR, a loopback FHIR
server and the real app (SQLite in a temp folder, the real small model)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from serving.app import create_app
from serving.settings import Settings

BASE_URL = "http://testserver"
ISS = "https://ehr.example.test"
ISS_REMOTE = "https://remote-ehr.example.test"
FHIR_TOKEN = "fhir-access-token-123"

NOTE_TEXT = (
    "Discharge summary.\n"
    "History of present illness: 67 year old woman admitted with community acquired pneumonia "
    "of the right lower lobe. She has type 2 diabetes mellitus without complications, treated "
    "with metformin, and essential hypertension on lisinopril. She denies chest pain.\n"
    "Hospital course: treated with ceftriaxone and azithromycin, improved.\n"
    "Assessment: Pneumonia, unspecified organism. Type 2 diabetes mellitus without "
    "complications. Essential (primary) hypertension.\n"
)


@dataclass
class Keys:
    rsa_private: Any
    ec_private: Any
    other_rsa_private: Any

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = RSAAlgorithm.to_jwk(self.rsa_private.public_key(), as_dict=True)
        rsa_jwk.update(kid="rsa-1", use="sig", alg="RS384")
        ec_jwk = ECAlgorithm.to_jwk(self.ec_private.public_key(), as_dict=True)
        ec_jwk.update(kid="ec-1", use="sig", alg="ES384")
        return {"keys": [rsa_jwk, ec_jwk]}

    def remote_jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.other_rsa_private.public_key(), as_dict=True)
        jwk.update(kid="remote-1", use="sig")
        return {"keys": [jwk]}


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa_private=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec_private=ec.generate_private_key(ec.SECP384R1()),
        other_rsa_private=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


@dataclass
class Route:
    status: int
    body: bytes
    content_type: str = "application/fhir+json"


@dataclass
class FhirServer:
    """A loopback FHIR server stand-in: answers registered paths, checks the bearer token."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    token: str = FHIR_TOKEN

    def add_json(self, path: str, body: Any, status: int = 200) -> None:
        self.routes[path] = Route(status, json.dumps(body).encode())

    def add_text(self, path: str, text: str, content_type: str = "text/plain") -> None:
        self.routes[path] = Route(200, text.encode(), content_type)


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirServer]:
    server_state: dict[str, FhirServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server API
            state = server_state["s"]
            auth = self.headers.get("Authorization")
            state.requests.append((self.path, auth))
            if self.path.startswith("/fhir/"):
                if auth != f"Bearer {state.token}":
                    return self._send(Route(401, b'{"resourceType":"OperationOutcome"}'))
                route = state.routes.get(self.path[len("/fhir") :])
            else:
                route = state.routes.get(self.path)
            self._send(route or Route(404, b'{"resourceType":"OperationOutcome"}'))

        def _send(self, route: Route) -> None:
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = httpd.server_address[1]
    state = FhirServer(base_url=f"http://127.0.0.1:{port}")
    server_state["s"] = state
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def cds_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cds")


@pytest.fixture(scope="session")
def clients_file(cds_tmp: Path, keys: Keys, fhir_server: FhirServer) -> Path:
    fhir_server.add_json("/jwks/remote.json", keys.remote_jwks())
    fhir_server.add_json("/jwks/rotated.json", keys.remote_jwks())
    path = cds_tmp / "cds-clients.json"
    path.write_text(
        json.dumps(
            {
                "clients": [
                    {"iss": ISS, "jwks": keys.jwks()},
                    {
                        "iss": ISS_REMOTE,
                        "jwks_url": f"{fhir_server.base_url}/jwks/remote.json",
                        "jku_allowlist": [f"{fhir_server.base_url}/jwks/rotated.json"],
                    },
                ]
            }
        )
    )
    return path


@dataclass
class Ehr:
    """A CDS Client that signs a fresh JWT for every call."""

    client: TestClient
    keys: Keys

    def token(
        self,
        aud: str | list[str],
        *,
        iss: str = ISS,
        alg: str = "RS384",
        kid: str | None = "rsa-1",
        key: Any = None,
        exp_in: int = 300,
        iat_offset: int = 0,
        jti: str | None = None,
        drop: tuple[str, ...] = (),
        headers: dict[str, Any] | None = None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss,
            "aud": aud,
            "exp": now + exp_in,
            "iat": now + iat_offset,
            "jti": jti or str(uuid.uuid4()),
        }
        for name in drop:
            claims.pop(name, None)
        if key is None:
            key = self.keys.ec_private if alg.startswith("ES") else self.keys.rsa_private
        hdr: dict[str, Any] = {"typ": "JWT"}
        if kid is not None:
            hdr["kid"] = kid
        hdr.update(headers or {})
        return jwt.encode(claims, key, algorithm=alg, headers=hdr)

    def auth(self, path: str, **kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(BASE_URL + path, **kw)}"}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self.auth(path, **kw))

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.client.post(path, json=body, headers=self.auth(path, **kw))


def _settings(data_dir: Path, clients_file: Path, model_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        model_dir=model_dir,
        cds_clients=clients_file,
        public_base_url=BASE_URL,
        train_default_model=False,
    )


@pytest.fixture(scope="session")
def ehr_no_model(cds_tmp: Path, clients_file: Path, keys: Keys) -> Iterator[Ehr]:
    """The app without a model: enough for discovery and every authentication check."""
    app = create_app(_settings(cds_tmp / "no-model-app", clients_file, cds_tmp / "none"))
    with TestClient(app) as client:
        yield Ehr(client, keys)


@pytest.fixture(scope="session")
def ehr(
    request: pytest.FixtureRequest, cds_tmp: Path, clients_file: Path, keys: Keys
) -> Iterator[Ehr]:
    """The app serving the real small model (root fixture `trained_model_dir`)."""
    model_dir = Path(request.getfixturevalue("trained_model_dir"))
    app = create_app(_settings(cds_tmp / "app", clients_file, model_dir))
    with TestClient(app) as client:
        assert client.app.state.model_error is None, client.app.state.model_error  # type: ignore[attr-defined]
        yield Ehr(client, keys)


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def note_bundle(*docs: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(docs),
        "entry": [{"resource": d} for d in docs],
    }


def document(
    doc_id: str, *, text: str | None = NOTE_TEXT, url: str | None = None, date: str = "2026-11-20"
) -> dict[str, Any]:
    attachment: dict[str, Any] = {"contentType": "text/plain; charset=utf-8"}
    if text is not None:
        attachment["data"] = b64(text)
    if url is not None:
        attachment["url"] = url
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "status": "current",
        "type": {
            "coding": [
                {"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}
            ]
        },
        "subject": {"reference": "Patient/pat-1"},
        "date": f"{date}T10:00:00Z",
        "content": [{"attachment": attachment}],
    }


PATIENT = {"resourceType": "Patient", "id": "pat-1", "gender": "female", "birthDate": "1959-03-02"}
ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "enc-1",
    "status": "finished",
    "class": {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "IMP",
        "display": "inpatient encounter",
    },
    "subject": {"reference": "Patient/pat-1"},
    "period": {"start": "2026-11-17T08:00:00Z", "end": "2026-11-20T12:00:00Z"},
}
CONTEXT = {"userId": "Practitioner/prac-1", "patientId": "pat-1", "encounterId": "enc-1"}
