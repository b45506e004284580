"""`ModelRegistry` + `serving.services.models` with the real trained model and a real SQLite
database: activation history, rollback, a broken artifact, following another process's
promotion, and no failed call while the active model is swapped under concurrent use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from model.text.note import Note
from serving.db import make_engine, make_session_factory, migrate
from serving.errors import Conflict
from serving.registry import (
    InvalidArtifactError,
    ModelLoadError,
    ModelNotFoundError,
    ModelRegistry,
    NoActiveModelError,
)
from serving.services import models as service
from tests.serving.registry_audit_fixtures import break_artifact, second_version

NOTE = Note.create(
    "Assessment: Type 2 diabetes mellitus without complications. Essential hypertension."
)


@dataclass
class World:
    factory: sessionmaker[Session]
    models_dir: Path
    versions: dict[str, str]  # "A"/"B"/"C" -> version
    broken: str
    #: This process's registry, shared by the tests (loading is the slow part); a test that
    #: needs another process's view builds its own.
    registry: ModelRegistry


@pytest.fixture(scope="module")
def world(trained_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A database with versions A (the trained model), B and C (copies) and a broken one."""
    root = tmp_path_factory.mktemp("registry")
    engine = make_engine(f"sqlite:///{root / 'db.sqlite'}")
    migrate(engine)
    factory = make_session_factory(engine)
    models_dir = root / "models"
    staging = root / "incoming"
    staging.mkdir()
    b_dir, b = second_version(trained_model_dir, staging, "b")
    c_dir, c = second_version(trained_model_dir, staging, "c")
    bad_dir, bad = second_version(trained_model_dir, staging, "broken")
    break_artifact(bad_dir)
    with factory() as session:
        a = service.register(
            session, trained_model_dir, models_dir=models_dir, actor="test", copy=False
        ).version
        for folder in (b_dir, c_dir, bad_dir):
            service.register(session, folder, models_dir=models_dir, actor="test")
        session.commit()
    yield World(factory, models_dir, {"A": a, "B": b, "C": c}, bad, ModelRegistry(models_dir))
    engine.dispose()


def _stack(world: World) -> list[str]:
    with world.factory() as session:
        return service.activation_stack(service.activations(session))


def test_register_copies_into_the_models_folder_and_refuses_duplicates(
    world: World, trained_model_dir: Path
) -> None:
    b = world.versions["B"]
    assert (world.models_dir / b / "manifest.json").is_file()
    with world.factory() as session:
        row = service.get_version(session, b)
        assert row.path == str((world.models_dir / b).resolve())
        assert row.report_md is not None and b in row.report_md
        assert row.metrics_json  # the artifact's evaluation.json, as shipped
        with pytest.raises(Conflict) as exc:
            service.register(session, trained_model_dir, models_dir=world.models_dir, actor="t")
        assert exc.value.code == "model_version_exists"
        with pytest.raises(InvalidArtifactError):
            service.register(
                session, world.models_dir / "nowhere", models_dir=world.models_dir, actor="t"
            )


def test_activation_history_rollback_and_a_broken_artifact(world: World) -> None:
    a, b, c = (world.versions[k] for k in "ABC")
    with pytest.raises(NoActiveModelError):
        ModelRegistry(world.models_dir).current()
    registry = world.registry
    with world.factory() as session:
        for version in (a, b, c):
            service.activate(session, registry, version, actor="admin-1")
    assert registry.active_version == c
    assert registry.previous_version == b
    assert registry.loaded_versions() == sorted([b, c])  # A was dropped: only one step back
    assert _stack(world) == [a, b, c]

    # A broken artifact: nothing written, C keeps serving, the error is reported.
    with world.factory() as session, pytest.raises(ModelLoadError) as exc:
        service.activate(session, registry, world.broken, actor="admin-1")
    assert exc.value.code == "model_load_failed"
    assert "could not be loaded" in exc.value.message
    assert registry.active_version == c
    assert registry.current().suggest(NOTE).model_version == c
    assert registry.last_error is not None and registry.last_error.version == world.broken
    assert _stack(world) == [a, b, c]
    with world.factory() as session:
        info = service.describe_model(session, world.broken, registry)
        assert info.load_error and "could not be loaded" in info.load_error
        assert not info.active

    # Rollback pops the stack: C -> B -> A, then there is nothing left.
    with world.factory() as session:
        assert service.rollback(session, registry, actor="admin-1").version == b
        assert registry.active_version == b
        assert service.rollback(session, registry, actor="admin-2").version == a
        with pytest.raises(Conflict) as no_more:
            service.rollback(session, registry, actor="admin-2")
        assert no_more.value.code == "no_rollback"
        with pytest.raises(Conflict):
            service.activate(session, registry, a, actor="admin-1")  # already active
        with pytest.raises(ModelNotFoundError):
            service.activate(session, registry, "v-unknown", actor="admin-1")
        history = service.activations(session)
    assert [(r.version, r.previous_version, r.created_by) for r in history] == [
        (a, None, "admin-1"),
        (b, a, "admin-1"),
        (c, b, "admin-1"),
        (b, c, "admin-1"),
        (a, b, "admin-2"),
    ]
    assert registry.current().suggest(NOTE).model_version == a


def test_a_second_process_follows_promotions_without_restart(world: World) -> None:
    """Worker W polls the database; the CLI-like process P promotes and rolls back."""
    a, b = world.versions["A"], world.versions["B"]
    worker = ModelRegistry(world.models_dir, poll_interval=0.0)
    service.sync_registry(worker, world.factory)  # nothing active yet: loads inline
    before = worker.active_version
    assert before is not None
    target = b if before != b else a
    promoter = world.registry
    with world.factory() as session:
        service.activate(session, promoter, target, actor="cli")
    service.sync_registry(worker, world.factory)  # loads in the background...
    assert worker.current().suggest(NOTE).model_version in {before, target}  # ...old one serves
    worker.wait_for_background(timeout=120)
    assert worker.active_version == target
    # A version that fails to load in the worker leaves the worker on its model.
    with world.factory() as session:
        session.add(
            service.ModelActivationRow(
                version=world.broken, previous_version=target, created_by="x"
            )
        )
        session.commit()
    worker.sync(lambda: (world.broken, world.models_dir / world.broken), wait=True, force=True)
    assert worker.active_version == target
    assert worker.failure(world.broken) is not None
    # Re-activating the version the database already names retries the load (no new row).
    with world.factory() as session:
        rows = len(service.activations(session))
        with pytest.raises(ModelLoadError):
            service.activate(session, worker, world.broken, actor="admin-1")
        assert len(service.activations(session)) == rows
    assert worker.active_version == target
    with world.factory() as session:  # put history back in a loadable state for other tests
        session.add(
            service.ModelActivationRow(
                version=target, previous_version=world.broken, created_by="x"
            )
        )
        session.commit()


def test_no_failed_call_while_switching_under_concurrent_use(world: World) -> None:
    a, b = world.versions["A"], world.versions["B"]
    registry = world.registry
    with world.factory() as session:
        paths = {v: Path(service.get_version(session, v).path) for v in (a, b)}
    registry.activate(a, paths[a])
    registry.load(b, paths[b])
    stop = threading.Event()
    errors: list[BaseException] = []
    seen: list[tuple[int, str]] = []  # (switch number when the call started, version served)
    lock = threading.Lock()
    switch = [0]

    def worker() -> None:
        while not stop.is_set():
            started_at = switch[0]
            try:
                suggester = registry.current()  # taken once, used for the whole "request"
                version = suggester.suggest(NOTE, top_k=5).model_version
            except BaseException as exc:  # noqa: BLE001 - any failure fails the test
                errors.append(exc)
                return
            with lock:
                seen.append((started_at, version))

    def calls_since(n: int) -> int:
        with lock:
            return sum(1 for started_at, _ in seen if started_at >= n)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(1, 7):
            registry.activate(b if i % 2 else a)  # a reference swap while calls are running
            switch[0] = i
            for _ in range(6000):  # until 4 calls that began after this switch have finished
                if calls_since(i) >= 4 or errors:
                    break
                stop.wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert errors == []
    assert {v for _, v in seen} == {a, b}
    # a call that took the model after switch i got switch i's model (or a later one's)
    last = {i: (b if i % 2 else a) for i in range(1, 7)}
    assert all(v == last[n] for n, v in seen if n == 6)


def test_metric_summary_reads_map_and_accepted_precision_per_system() -> None:
    metrics = {
        "by_system": {
            "ICD-10-CM": {"ranking": {"map": 0.61514}, "accepted": {"micro_p": 0.7}},
            "CPT": {"ranking": {"map": 0.5}},
            "HCPCS": "not a block",
        }
    }
    assert service.metric_summary(metrics) == {
        "ICD-10-CM": {"map": 0.6151, "precision": 0.7},
        "CPT": {"map": 0.5},
    }
    assert service.metric_summary({}) == {}
    assert service.metric_summary({"by_system": []}) == {}


def test_bootstrap_activates_a_default_model_retrained_in_its_folder(
    trained_model_dir: Path, tmp_path: Path
) -> None:
    """The default model is registered in place; when it is retrained where it stood (an older
    chartcoder's model, say), the next start activates the new version instead of failing on a
    folder that no longer holds the active one. A version registered elsewhere is left alone."""
    import json
    import shutil

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    factory = make_session_factory(engine)
    default = tmp_path / "models" / "default"
    shutil.copytree(trained_model_dir, default)
    first = json.loads((default / "manifest.json").read_text())["version"]
    registry = ModelRegistry(tmp_path / "registered")
    assert service.bootstrap(registry, factory, default) == first
    # retrained in place: the folder now holds another version
    manifest = json.loads((default / "manifest.json").read_text())
    manifest["version"] = f"{first}-retrained"
    (default / "manifest.json").write_text(json.dumps(manifest))
    registry = ModelRegistry(tmp_path / "registered")  # a new process
    assert service.bootstrap(registry, factory, default) == f"{first}-retrained"
    assert registry.active_version == f"{first}-retrained"
    with factory() as session:
        assert service.get_version(session, first).path == str(default.resolve())
    # the same folder unchanged: the active version is simply loaded again
    registry = ModelRegistry(tmp_path / "registered")
    assert service.bootstrap(registry, factory, default) == f"{first}-retrained"
    engine.dispose()
