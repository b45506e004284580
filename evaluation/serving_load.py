"""Load benchmark for `POST /v1/suggestions`: concurrent clients on loopback, latency and RSS.

    python -m evaluation.serving_load --base-url http://127.0.0.1:8000 --key KEY \
        --clients 4 --duration 120 [--json OUT]
    python -m evaluation.serving_load --spawn [--model MODEL_DIR] --clients 4 --duration 120

`--spawn` starts `chartcoder serve` itself on a free loopback port with a temporary data folder
(and a `coder` key made with `chartcoder users add`), and stops it afterwards. Each client sends
~400-word notes (varied, so nothing is answered from a cache) in a loop bounded by the duration
and `--max-requests`. Prints p50/p95/p99/max latency, errors, throughput and the server's peak
RSS (from /proc when the server's pid is known, else from the `process_resident_memory_bytes`
gauge of `/metrics`), checks the issue's targets (p95 < 400 ms, zero errors, peak RSS < 2 GB)
and writes everything as JSON. Only loopback addresses are accepted.

This script talks HTTP only; it does not import `serving`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from evaluation._server import chartcoder_cmd, free_port, running_server

logger = logging.getLogger(__name__)

TARGET_P95_MS = 400.0
TARGET_PEAK_RSS_MB = 2048.0
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

_SENTENCES = (
    "Patient is a {age}-year-old {sex} presenting for follow-up of type 2 diabetes mellitus.",
    "She reports good adherence to metformin 1000 mg twice daily and denies hypoglycemia.",
    "Blood pressure today is {sbp}/{dbp}; history of essential hypertension on lisinopril.",
    "Denies chest pain, shortness of breath, palpitations, or lower extremity edema.",
    "Chronic kidney disease stage 3 noted on prior labs with eGFR of {egfr}.",
    "Hyperlipidemia managed with atorvastatin 40 mg nightly; last LDL was {ldl} mg/dL.",
    "Reports intermittent low back pain radiating to the left leg for the past {weeks} weeks.",
    "Physical exam: lungs clear to auscultation bilaterally, heart regular rate and rhythm.",
    "Abdomen soft, nontender, nondistended, with normal bowel sounds in all quadrants.",
    "Assessment: major depressive disorder, recurrent, moderate, stable on sertraline.",
    "Former smoker with a {packs} pack-year history, quit {years} years ago.",
    "Obesity with body mass index of {bmi}; counseled on diet and exercise for 15 minutes.",
    "Gastroesophageal reflux disease controlled with omeprazole 20 mg daily.",
    "No known drug allergies. Family history of coronary artery disease in father.",
    "Plan: continue current medications, recheck hemoglobin A1c in three months.",
    "Acute upper respiratory infection with cough and congestion for four days, afebrile.",
    "Osteoarthritis of the right knee with crepitus and mild effusion on examination.",
    "Hypothyroidism on levothyroxine 75 mcg; TSH within normal limits last visit.",
    "Screening for colon cancer discussed; colonoscopy referral placed today.",
    "Patient counseled regarding medication side effects and signs requiring urgent care.",
    "Anxiety symptoms improved; sleeping better, no suicidal ideation reported.",
    "Atrial fibrillation, rate controlled, on apixaban for stroke prevention.",
    "Influenza vaccine administered in the left deltoid without complication.",
    "Diabetic foot exam performed: monofilament sensation intact, pulses palpable.",
)


def make_note(rng: random.Random, words: int = 400) -> str:
    """A varied outpatient note of about `words` words."""
    parts: list[str] = []
    count = 0
    while count < words:
        sentence = rng.choice(_SENTENCES).format(
            age=rng.randint(25, 90),
            sex=rng.choice(("female", "male")),
            sbp=rng.randint(110, 170),
            dbp=rng.randint(60, 100),
            egfr=rng.randint(30, 59),
            ldl=rng.randint(60, 190),
            weeks=rng.randint(1, 12),
            packs=rng.randint(5, 40),
            years=rng.randint(1, 30),
            bmi=round(rng.uniform(30, 42), 1),
        )
        parts.append(sentence)
        count += len(sentence.split())
    return " ".join(parts)


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)  # `latency_ms` the server reported
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, ms: float, status: str, error: str | None, server_ms: float | None = None
    ) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if error is None:
                self.latencies_ms.append(ms)
                if server_ms is not None:
                    self.server_ms.append(server_ms)
            else:
                self.errors += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(error)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def check_loopback(base_url: str) -> None:
    host = urlparse(base_url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(
            f"--base-url must be a loopback address (127.0.0.1, localhost); got {host!r}"
        )


# ---------------------------------------------------------------------- memory of the server
def _rss_kb(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(p) for p in text.split()]
    return kids + [g for k in kids for g in _children(k)]


class RssSampler:
    """Samples the resident memory of a process tree (by pid) or of `/metrics` twice a second."""

    def __init__(self, pid: int | None, base_url: str) -> None:
        self.pid = pid
        self.base_url = base_url
        self.peak_mb = 0.0
        self.source = "proc" if pid else "metrics"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        if self.pid:
            tree = [self.pid, *_children(self.pid)]
            current = sum(_rss_kb(p, "VmRSS") for p in tree) / 1024
            hwm = max(_rss_kb(p, "VmHWM") for p in tree) / 1024
            self.peak_mb = max(self.peak_mb, current, hwm)
            return
        try:
            text = httpx.get(f"{self.base_url}/metrics", timeout=2).text
        except httpx.HTTPError:
            return
        match = re.search(r"^process_resident_memory_bytes\s+([0-9.e+]+)", text, re.MULTILINE)
        if match:
            self.peak_mb = max(self.peak_mb, float(match.group(1)) / 2**20)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sample()


# ---------------------------------------------------------------------- spawning a server
@contextmanager
def spawned_server(
    model_dir: Path | None, data_dir: Path | None, startup_timeout: float
) -> Iterator[tuple[str, str, int]]:
    """Start `chartcoder serve` on a free loopback port; yield `(base_url, key, pid)`."""
    tmp = tempfile.mkdtemp(prefix="chartcoder-load-") if data_dir is None else None
    folder = Path(tmp) if tmp else Path(data_dir)  # type: ignore[arg-type]
    env = {**os.environ, "CHARTCODER_ENVIRONMENT": "development"}
    try:
        added = subprocess.run(
            [
                *chartcoder_cmd(),
                "users",
                "add",
                "load-bench",
                "--role",
                "coder",
                "--data-dir",
                str(folder),
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        key = added.stdout.strip().splitlines()[-1].strip()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with running_server(folder, port, model_dir, env, startup_timeout) as proc:
            yield base, key, proc.pid
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------- the load
def _client(
    base_url: str,
    key: str,
    notes: list[str],
    deadline: float,
    budget: list[int],
    budget_lock: threading.Lock,
    result: Result,
    seed: int,
    top_k: int,
) -> None:
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        while time.monotonic() < deadline:
            with budget_lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            body = {"text": rng.choice(notes), "top_k": top_k}
            started = time.perf_counter()
            try:
                response = client.post("/v1/suggestions", json=body)
            except httpx.HTTPError as exc:
                ms = (time.perf_counter() - started) * 1000
                result.record(ms, type(exc).__name__, f"{type(exc).__name__}: {exc}")
                continue
            ms = (time.perf_counter() - started) * 1000
            ok = 200 <= response.status_code < 300
            server_ms = None
            if ok:
                try:
                    server_ms = float(response.json()["latency_ms"])
                except (ValueError, KeyError, TypeError):
                    server_ms = None
            error = None if ok else response.text[:300]
            result.record(ms, str(response.status_code), error, server_ms)


def run_load(
    base_url: str,
    key: str,
    *,
    clients: int,
    duration: float,
    words: int,
    max_requests: int,
    seed: int,
    top_k: int,
    pid: int | None,
) -> dict[str, Any]:
    rng = random.Random(seed)
    notes = [make_note(rng, words) for _ in range(64)]
    headers = {"Authorization": f"Bearer {key}"}
    for note in notes[:2]:  # warm-up, not measured
        httpx.post(
            f"{base_url}/v1/suggestions",
            json={"text": note, "top_k": top_k},
            headers=headers,
            timeout=120,
        ).raise_for_status()
    result = Result()
    budget, budget_lock = [max_requests], threading.Lock()
    with RssSampler(pid, base_url) as rss:
        started = time.monotonic()
        deadline = started + duration
        threads = [
            threading.Thread(
                target=_client,
                args=(base_url, key, notes, deadline, budget, budget_lock, result, seed + i, top_k),
                daemon=True,
            )
            for i in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(duration + 60)
        elapsed = time.monotonic() - started
    lat = result.latencies_ms
    total = len(lat) + result.errors
    p95 = _percentile(lat, 95)
    report = {
        "base_url": base_url,
        "clients": clients,
        "duration_s": round(elapsed, 2),
        "note_words": words,
        "requests": total,
        "ok": len(lat),
        "errors": result.errors,
        "error_samples": result.error_samples,
        "statuses": result.statuses,
        "throughput_rps": round(total / elapsed, 2) if elapsed else None,
        "latency_ms": {
            "p50": _round(_percentile(lat, 50)),
            "p95": _round(p95),
            "p99": _round(_percentile(lat, 99)),
            "max": _round(max(lat) if lat else None),
            "mean": _round(statistics.fmean(lat) if lat else None),
        },
        "server_latency_ms": {
            "p50": _round(_percentile(result.server_ms, 50)),
            "p95": _round(_percentile(result.server_ms, 95)),
        },
        "peak_rss_mb": round(rss.peak_mb, 1) if rss.peak_mb else None,
        "rss_source": rss.source,
    }
    report["load_average_1m"] = round(os.getloadavg()[0], 2)
    report["cpu_count"] = os.cpu_count()
    report["targets"] = {
        "p95_under_400ms": p95 is not None and p95 < TARGET_P95_MS,
        "zero_errors": result.errors == 0 and total > 0,
        "peak_rss_under_2gb": bool(rss.peak_mb) and rss.peak_mb < TARGET_PEAK_RSS_MB,
    }
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def format_table(report: dict[str, Any]) -> str:
    lat, srv = report["latency_ms"], report["server_latency_ms"]
    rows = [
        ("clients", report["clients"]),
        ("duration (s)", report["duration_s"]),
        ("note words", report["note_words"]),
        ("requests", report["requests"]),
        ("errors", report["errors"]),
        ("throughput (req/s)", report["throughput_rps"]),
        ("p50 latency (ms)", lat["p50"]),
        ("p95 latency (ms)", lat["p95"]),
        ("p99 latency (ms)", lat["p99"]),
        ("max latency (ms)", lat["max"]),
        ("server-side p50 / p95 (ms)", f"{srv['p50']} / {srv['p95']}"),
        (f"peak server RSS (MB, {report['rss_source']})", report["peak_rss_mb"]),
    ]
    lines = [f"{name:<32} {value}" for name, value in rows]
    for target, ok in report["targets"].items():
        lines.append(f"{'target ' + target:<32} {'PASS' if ok else 'FAIL'}")
    lines.append(f"{'host load average (1 min)':<32} {report['load_average_1m']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="A running server (loopback only).")
    parser.add_argument("--key", help="API key with the coder role.")
    parser.add_argument("--spawn", action="store_true", help="Start `chartcoder serve` here.")
    parser.add_argument("--model", type=Path, help="With --spawn: model artifact folder.")
    parser.add_argument("--data-dir", type=Path, help="With --spawn: data folder (default temp).")
    parser.add_argument("--server-pid", type=int, help="Pid of a running server (for its RSS).")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=120.0, help="Seconds of load.")
    parser.add_argument("--words", type=int, default=400, help="Words per note.")
    parser.add_argument("--top-k", type=int, default=30)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--startup-timeout", type=float, default=900.0)
    parser.add_argument("--json", type=Path, help="Write the report here.")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be between 1 and 64")
    if not 0 < args.duration <= 3600:
        parser.error("--duration must be in (0, 3600] seconds")
    options = dict(
        clients=args.clients,
        duration=args.duration,
        words=args.words,
        max_requests=args.max_requests,
        seed=args.seed,
        top_k=args.top_k,
    )
    if args.spawn:
        with spawned_server(args.model, args.data_dir, args.startup_timeout) as (base, key, pid):
            report = run_load(base, key, pid=pid, **options)
    else:
        if not args.base_url or not args.key:
            parser.error("give --base-url and --key, or --spawn")
        check_loopback(args.base_url)
        report = run_load(args.base_url.rstrip("/"), args.key, pid=args.server_pid, **options)
    sys.stdout.write(format_table(report) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    sys.exit(main())
