"""Shared by the benchmark scripts that spawn `chartcoder serve` on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chartcoder_cmd() -> list[str]:
    exe = shutil.which("chartcoder")
    return [exe] if exe else [sys.executable, "-m", "chartcoder.cli"]


def wait_until_ready(
    proc: subprocess.Popen[bytes], base: str, log_path: Path, startup_timeout: float
) -> None:
    """Poll `{base}/readyz` until it answers 200; fail with the server log if it exits."""
    deadline = time.monotonic() + startup_timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(
                f"chartcoder serve exited with {proc.returncode}; log:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server not ready after {startup_timeout:.0f} s")
        time.sleep(0.5)


@contextmanager
def running_server(
    data_dir: Path,
    port: int,
    model_dir: Path | None,
    env: Mapping[str, str],
    startup_timeout: float,
) -> Iterator[subprocess.Popen[bytes]]:
    """`chartcoder serve` on 127.0.0.1:`port`, ready when entered, stopped on exit."""
    cmd = [
        *chartcoder_cmd(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if model_dir is not None:
        cmd += ["--model", str(model_dir)]
    log_path = data_dir / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(env))
    try:
        wait_until_ready(proc, f"http://127.0.0.1:{port}", log_path, startup_timeout)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
