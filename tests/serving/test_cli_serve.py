"""`chartcoder users add` (key on the last line, usable at once), and `chartcoder serve`
(prints the URL and answers on it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chartcoder.cli import app as cli
from serving.app import create_app
from serving.settings import Settings


def test_users_add_prints_a_working_key_as_the_last_line(
    tmp_path: Path, trained_model_dir: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["users", "add", "ana", "--role", "coder", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("cc_")

    settings = Settings(data_dir=tmp_path, model_dir=trained_model_dir, train_default_model=False)
    with TestClient(create_app(settings)) as api:
        ok = api.get("/v1/codes/ICD-10-CM/E11.9", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        export = api.get("/v1/corrections/export", headers={"Authorization": f"Bearer {key}"})
        assert export.status_code == 403  # a coder is not an admin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "add", "bob", "--role", "boss"], "unknown role 'boss'"),
        (["users", "add", "bob smith", "--role", "coder"], "without spaces"),
    ],
)
def test_users_add_rejects_bad_input_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, [*args, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.output


def test_users_add_refuses_a_duplicate_name(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["users", "add", "ana", "--role", "admin", "--data-dir", str(tmp_path)]
    assert runner.invoke(cli, args).exit_code == 0
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "already exists" in again.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_prints_the_url_and_answers_there(tmp_path: Path, trained_model_dir: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTCODER_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chartcoder.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--model",
            str(trained_model_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"{url}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, "server never became ready"
        assert ready.json()["checks"]["model"]["ok"]
        assert (tmp_path / "chartcoder.sqlite").is_file()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert url in output


def test_serve_model_makes_that_artifact_the_active_version(
    tmp_path: Path, trained_model_dir: Path
) -> None:
    from chartcoder.commands.serve import _serve_this_model
    from tests.serving.registry_audit_fixtures import second_version

    first = Settings(data_dir=tmp_path, model_dir=trained_model_dir, train_default_model=False)
    with TestClient(create_app(first)) as api:
        v1 = api.get("/readyz").json()["model_version"]
    v2_dir, v2 = second_version(trained_model_dir, tmp_path, "serve")
    second = Settings(data_dir=tmp_path, model_dir=v2_dir, train_default_model=False)
    _serve_this_model(second, v2_dir)
    with TestClient(create_app(second)) as api:
        assert api.get("/readyz").json()["model_version"] == v2 != v1


def test_serve_refuses_a_model_folder_without_a_manifest(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["serve", "--data-dir", str(tmp_path), "--model", str(tmp_path / "nothing")]
    )
    assert result.exit_code == 2
    assert "--model" in result.output and "manifest.json" in result.output
