"""Latency of a CDS Hooks call with prefetch: `encounter-discharge`, one ~400-word note.

    python -m evaluation.cds_latency --model MODEL_DIR [--calls 50] [--warmup 3] [--json OUT]
    python -m evaluation.cds_latency --model MODEL_DIR --hook patient-view

Starts `chartcoder serve` on a free loopback port with a temporary data folder, a freshly
generated ES384 key pair registered as the only trusted CDS Client (`CHARTCODER_CDS_CLIENTS`)
and `CHARTCODER_PUBLIC_BASE_URL` set to that port. Each call signs a new JWT (unique `jti`) and
POSTs a hook request whose `prefetch` holds Patient, Encounter and a DocumentReference bundle
with one varied ~400-word note (base64 `text/plain`), as an EHR would. The time measured is the
client-side wall time of the whole HTTP exchange (JWT verification, FHIR parsing, the model,
storing the suggestion set, building cards). Warm-up calls are not counted.

Prints p50 / p95 / p99 / max / mean and checks the target (p95 < 500 ms; the CDS Hooks
specification asks services to answer in about 500 ms), with the CPU count and load average
(the numbers depend on what else the machine is doing), and writes everything as JSON.

This script talks HTTP only; it does not import `serving`.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from evaluation._server import free_port, running_server

logger = logging.getLogger(__name__)

TARGET_P95_MS = 500.0
ISS = "https://ehr.latency-bench.local"
KID = "bench-es384"
SERVICES = {
    "encounter-discharge": "chartcoder-discharge-coding",
    "patient-view": "chartcoder-patient-view-coding",
}

_SENTENCES = (
    "Patient is a {age}-year-old {sex} admitted with community acquired pneumonia of the right "
    "lower lobe.",
    "Past medical history is notable for type 2 diabetes mellitus without complications, "
    "managed with metformin.",
    "She also has essential hypertension, controlled on lisinopril {dose} mg daily.",
    "Chest radiograph showed a right lower lobe consolidation without effusion.",
    "Blood cultures were negative and procalcitonin was {pct} on admission.",
    "He was treated with ceftriaxone and azithromycin with steady clinical improvement.",
    "The patient denies chest pain, hemoptysis or recent travel.",
    "Hemoglobin A1c was {a1c} percent and renal function remained normal throughout the stay.",
    "Chronic obstructive pulmonary disease is not present; spirometry last year was normal.",
    "Family history is significant for coronary artery disease in the father.",
    "Oxygen saturation improved from {spo2} percent on room air to 96 percent on discharge.",
    "Hospital course was otherwise uncomplicated and the patient ambulated independently.",
    "Discharge medications include amoxicillin clavulanate to complete a seven day course.",
    "Follow up with the primary care physician in one week is arranged.",
    "Assessment: pneumonia, unspecified organism; type 2 diabetes mellitus; essential "
    "hypertension.",
    "Influenza vaccine was administered prior to discharge after counselling.",
)


def make_note(rng: random.Random, words: int = 400) -> str:
    """A varied discharge note of about `words` words."""
    out: list[str] = ["Discharge summary."]
    count = 2
    while count < words:
        sentence = rng.choice(_SENTENCES).format(
            age=rng.randint(40, 90),
            sex=rng.choice(["woman", "man"]),
            dose=rng.choice([10, 20, 40]),
            pct=round(rng.uniform(0.1, 2.0), 2),
            a1c=round(rng.uniform(6.0, 9.5), 1),
            spo2=rng.randint(86, 93),
        )
        out.append(sentence)
        count += len(sentence.split())
    return " ".join(out)


def hook_request(hook: str, note: str) -> dict[str, Any]:
    doc = {
        "resourceType": "DocumentReference",
        "id": "doc-1",
        "status": "current",
        "type": {
            "coding": [
                {"system": "http://loinc.org", "code": "18842-5", "display": "Discharge summary"}
            ]
        },
        "subject": {"reference": "Patient/p1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(note.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/pr1", "patientId": "p1", "encounterId": "e1"},
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "female",
                "birthDate": "1950-04-02",
            },
            "encounter": {
                "resourceType": "Encounter",
                "id": "e1",
                "status": "finished",
                "class": {"code": "IMP"},
                "period": {"start": "2026-11-20T08:00:00Z"},
            },
            "notes": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": doc}]},
        },
    }


@contextmanager
def spawned_server(
    model_dir: Path | None, jwks: dict[str, Any], startup_timeout: float
) -> Iterator[str]:
    """`chartcoder serve` on a free loopback port trusting one CDS Client; yields its URL."""
    folder = Path(tempfile.mkdtemp(prefix="chartcoder-cds-latency-"))
    try:
        clients = folder / "cds-clients.json"
        clients.write_text(json.dumps({"clients": [{"iss": ISS, "jwks": jwks}]}))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CHARTCODER_ENVIRONMENT": "development",
            "CHARTCODER_CDS_CLIENTS": str(clients),
            "CHARTCODER_PUBLIC_BASE_URL": base,
        }
        with running_server(folder, port, model_dir, env, startup_timeout):
            yield base
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run(
    base: str, key: Any, *, hook: str, calls: int, warmup: int, words: int, seed: int
) -> dict[str, Any]:
    path = f"/cds-services/{SERVICES[hook]}"
    url = base + path
    rng = random.Random(seed)
    latencies: list[float] = []
    cards: list[int] = []
    errors: list[str] = []
    with httpx.Client(timeout=30) as client:
        for i in range(warmup + calls):
            now = int(time.time())
            token = jwt.encode(
                {"iss": ISS, "aud": url, "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())},
                key,
                algorithm="ES384",
                headers={"kid": KID, "typ": "JWT"},
            )
            body = hook_request(hook, make_note(rng, words))
            started = time.perf_counter()
            try:
                response = client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000.0
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            if i >= warmup:
                latencies.append(elapsed)
                cards.append(len(response.json()["cards"]))
    p95 = _percentile(latencies, 0.95)
    return {
        "hook": hook,
        "service": SERVICES[hook],
        "calls": len(latencies),
        "warmup": warmup,
        "note_words": words,
        "errors": errors,
        "latency_ms": {
            "p50": round(_percentile(latencies, 0.50), 1),
            "p95": round(p95, 1),
            "p99": round(_percentile(latencies, 0.99), 1),
            "max": round(max(latencies), 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "cards_per_call": round(statistics.fmean(cards), 2) if cards else 0.0,
        "target_p95_ms": TARGET_P95_MS,
        "target_met": bool(latencies) and not errors and p95 < TARGET_P95_MS,
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def format_table(result: dict[str, Any]) -> str:
    lat = result["latency_ms"]
    rows = [
        ("hook / service", f"{result['hook']} / {result['service']}"),
        ("calls (after warm-up)", f"{result['calls']} (+{result['warmup']})"),
        ("note words", str(result["note_words"])),
        ("p50 ms", f"{lat['p50']}"),
        ("p95 ms", f"{lat['p95']}  (target < {result['target_p95_ms']:.0f})"),
        ("p99 ms", f"{lat['p99']}"),
        ("max ms", f"{lat['max']}"),
        ("mean ms", f"{lat['mean']}"),
        ("cards per call", f"{result['cards_per_call']}"),
        ("errors", str(len(result["errors"]))),
        ("CPUs / load avg", f"{result['cpu_count']} / {result['load_average']}"),
        ("target met", "yes" if result["target_met"] else "NO"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="Model folder (default: the server's default).")
    parser.add_argument("--hook", choices=sorted(SERVICES), default="encounter-discharge")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--words", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--startup-timeout", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=Path("cds-latency.json"))
    args = parser.parse_args(argv)
    if args.calls < 1 or args.warmup < 0 or args.words < 1:
        parser.error("--calls and --words must be positive, --warmup non-negative")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    private = ec.generate_private_key(ec.SECP384R1())
    jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=KID, use="sig", alg="ES384")
    with spawned_server(args.model, {"keys": [jwk]}, args.startup_timeout) as base:
        result = run(
            base,
            private,
            hook=args.hook,
            calls=args.calls,
            warmup=args.warmup,
            words=args.words,
            seed=args.seed,
        )
    sys.stdout.write(format_table(result) + "\n")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    logger.info("wrote %s", args.json)
    return 0 if not result["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
