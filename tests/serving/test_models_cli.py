"""`chartcoder models list|register|promote|rollback`, and a running server following a CLI
promotion and rollback without a restart (real SQLite file shared by the CLI and the app)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from chartcoder.cli import app as cli
from serving.app import create_app
from serving.settings import Settings
from tests.serving.registry_audit_fixtures import add_user, break_artifact, second_version

ENV = {"CHARTCODER_DATABASE_URL": "", "CHARTCODER_ENVIRONMENT": "development"}


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["models", *args], env=ENV)
    return result.exit_code, result.output


def _wait_for_version(client: TestClient, headers: dict[str, str], version: str) -> str:
    """The version the server answers with, once it equals `version` (bounded wait)."""
    seen = ""
    for _ in range(600):
        r = client.post(
            "/v1/suggestions", json={"text": "Essential hypertension."}, headers=headers
        )
        assert r.status_code == 201, r.text  # never a failed request while it switches
        seen = r.json()["model_version"]
        if seen == version:
            break
        time.sleep(0.2)
    return seen


@pytest.mark.slow
def test_cli_lifecycle_and_a_server_following_it(trained_model_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    b_dir, b = second_version(trained_model_dir, tmp_path, "b")
    bad_dir, bad = second_version(trained_model_dir, tmp_path, "broken")
    break_artifact(bad_dir)
    a = json.loads((trained_model_dir / "manifest.json").read_text())["version"]

    code, out = _run("list", "--data-dir", str(data))
    assert (code, out.strip()) == (0, "no model versions registered")
    for folder, version in ((trained_model_dir, a), (b_dir, b), (bad_dir, bad)):
        code, out = _run("register", str(folder), "--data-dir", str(data))
        assert code == 0, out
        assert f"registered {version} at {data.resolve() / 'models' / version}" in out
    code, out = _run("register", str(b_dir), "--data-dir", str(data))
    assert code == 1 and "already registered" in out
    code, out = _run("register", str(tmp_path / "nothing"), "--data-dir", str(data))
    assert code == 1 and "not a folder" in out
    code, out = _run("rollback", "--data-dir", str(data))
    assert code == 1 and "no earlier model version" in out
    code, out = _run("promote", a, "--data-dir", str(data))
    assert code == 0, out
    code, out = _run("promote", bad, "--data-dir", str(data))
    assert code == 1 and "could not be loaded" in out
    code, out = _run("list", "--json", "--data-dir", str(data))
    listed = {m["version"]: m for m in json.loads(out)}
    assert listed[a]["active"] and not listed[bad]["active"]

    settings = Settings(data_dir=data, database_url=None, train_default_model=False)
    with TestClient(create_app(settings)) as client:
        headers = add_user(client, "coder-1", "coder")
        assert _wait_for_version(client, headers, a) == a
        code, out = _run("promote", b, "--data-dir", str(data))
        assert code == 0 and f"active model: {b} (previous: {a})" in out
        assert _wait_for_version(client, headers, b) == b
        code, out = _run("rollback", "--data-dir", str(data))
        assert code == 0 and f"active model: {a} (rolled back from {b})" in out
        assert _wait_for_version(client, headers, a) == a
    code, out = _run("list", "--data-dir", str(data))
    lines = {line[2:].split()[0]: line[0] for line in out.splitlines()}
    assert (lines[a], lines[b], lines[bad]) == ("*", " ", " ")  # rollback popped B off the stack
    assert "ICD-10-CM map=" in out
