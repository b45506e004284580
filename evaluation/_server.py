"""Shared by the benchmark scripts that spawn `chartcoder serve` on loopback."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


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
