"""A real retrain from the service database: lineage, registration, gate, report served by the
API; a crash in training leaves everything untouched; a second retrain at once is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from serving.services import models as service
from training import retrain as retrain_mod
from training.corrections import build_correction_set
from training.lock import LOCK_NAME, RetrainBusyError, retrain_lock
from training.retrain import RetrainError, RetrainOptions, run_retrain


def _opts(env: Any, out: Path, **kw: Any) -> RetrainOptions:
    base = {
        "data_dir": env.data_dir,
        "out": out,
        "source": "db",
        "base_corpus": env.corpus_dir,
        "max_base_notes": 150,
        "benchmark": env.corpus_dir,
        "benchmark_notes": 20,
        "eval_percent": 30,
        "progress": False,
    }
    base.update(kw)
    return RetrainOptions(**base)


def _registry_state(env: Any) -> tuple[list[str], str | None, int]:
    factory = env.client.app.state.session_factory
    with factory() as session:
        versions = [i.version for i in service.list_models(session)]
        return versions, service.active_version(session), len(service.activations(session))


@pytest.fixture(scope="module")
def retrained(retrain_env: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("retrain-out") / "new-model"
    before = _registry_state(retrain_env)
    result = run_retrain(_opts(retrain_env, out))
    return result, before


@pytest.mark.slow
def test_retrain_writes_lineage_and_registers(
    retrain_env: Any, retrained: Any, db_records: list[dict[str, Any]]
) -> None:
    result, (versions_before, active_before, _) = retrained
    cset = build_correction_set(db_records, eval_percent=30)
    lineage = json.loads((result.out / "lineage.json").read_text())
    assert lineage["base_version"] == retrain_env.base_version
    assert lineage["corrections"]["review_ids_train"] == sorted(e.review_id for e in cset.train)
    assert lineage["corrections"]["review_ids_eval"] == sorted(e.review_id for e in cset.eval)
    assert not set(lineage["corrections"]["review_ids_train"]) & set(
        lineage["corrections"]["review_ids_eval"]
    )
    assert lineage["weighting"]["repeat"] >= 1
    assert len(lineage["base_data"]["synthetic"]["sha256"]) == 64
    manifest = json.loads((result.out / "manifest.json").read_text())
    data = manifest["training"]["data"]
    assert data["base_version"] == retrain_env.base_version
    assert data["corrections"]["sha256_train"] == lineage["corrections"]["sha256_train"]
    assert manifest["version"] == result.version != retrain_env.base_version
    versions, active, _ = _registry_state(retrain_env)
    assert set(versions) == {*versions_before, result.version}
    # The gate's decision is what the registry shows.
    assert (active == result.version) == result.promoted
    if not result.promoted:
        assert active == active_before and result.reasons
    evaluation = json.loads((result.out / "evaluation.json").read_text())
    assert evaluation["gate"]["promote"] == (not evaluation["gate"]["reasons"])
    assert set(evaluation["new"]) == {"benchmark", "corrections_eval"}


@pytest.mark.slow
def test_report_is_served_by_the_api(retrain_env: Any, retrained: Any) -> None:
    result, _ = retrained
    report = (result.out / "report.md").read_text()
    assert "## Gate decision" in report and "### benchmark" in report
    assert "reliability" in report.lower()
    png = [p for p in (result.out / "evaluation").glob("*.png")]
    assert png
    r = retrain_env.client.get(f"/v1/models/{result.version}", headers=retrain_env.coder)
    assert r.status_code == 200, r.text
    assert r.json()["report_md"] == report


@pytest.mark.slow
def test_crash_in_training_leaves_registry_untouched(
    retrain_env: Any, retrained: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _registry_state(retrain_env)

    def failing_train(train: Any, out_dir: Path, **kw: Any) -> Path:
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "model.joblib").write_bytes(b"half written")
        raise RuntimeError("simulated crash in training")

    monkeypatch.setattr(retrain_mod, "train_model", failing_train)
    out = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_retrain(_opts(retrain_env, out))
    assert _registry_state(retrain_env) == before
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # the temporary folder is gone too
    assert not (retrain_env.data_dir / LOCK_NAME).exists()


def test_second_retrain_is_refused(retrain_env: Any, tmp_path: Path) -> None:
    before = _registry_state(retrain_env)
    with retrain_lock(retrain_env.data_dir) as lock:
        with pytest.raises(RetrainBusyError, match=f"pid {os.getpid()}"):
            run_retrain(_opts(retrain_env, tmp_path / "second"))
        with pytest.raises(RetrainBusyError, match=LOCK_NAME), retrain_lock(retrain_env.data_dir):
            pass
        assert lock.exists()
    assert not lock.exists()
    assert _registry_state(retrain_env) == before
    assert not (tmp_path / "second").exists()


def test_stale_lock_of_dead_process_is_taken_over(tmp_path: Path) -> None:
    import socket

    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(proc.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": socket.gethostname()}))
    with retrain_lock(tmp_path) as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_bad_requests_are_refused_before_work(retrain_env: Any, tmp_path: Path) -> None:
    exists = tmp_path / "exists"
    exists.mkdir()
    with pytest.raises(RetrainError, match="already exists"):
        run_retrain(_opts(retrain_env, exists))
    with pytest.raises(RetrainError, match="source"):
        run_retrain(_opts(retrain_env, tmp_path / "x", source="csv"))
    with pytest.raises(RetrainError, match="not-registered"):
        run_retrain(_opts(retrain_env, tmp_path / "y", base_version="not-registered"))


def test_cli_refuses_bad_source_and_busy_lock(retrain_env: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from chartcoder.cli import app

    runner = CliRunner()
    out = str(tmp_path / "cli-out")
    neither = runner.invoke(app, ["retrain", "--out", out, "--data-dir", str(tmp_path)])
    assert neither.exit_code == 2 and "exactly one of --from-db or --from-jsonl" in neither.output
    with retrain_lock(retrain_env.data_dir):
        busy = runner.invoke(
            app, ["retrain", "--from-db", "--out", out, "--data-dir", str(retrain_env.data_dir)]
        )
    assert busy.exit_code == 1
    assert "another retrain is running" in busy.output
    assert not Path(out).exists()
