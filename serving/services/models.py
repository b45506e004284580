"""Model versions and activations: the database side of the registry.

`model_versions` holds one row per registered artifact; `model_activations` is the append-only
history of switches, and its latest row is the active version. Activation history is read as a
stack: an activation pushes a version; a rollback pops the top and re-activates the version below
(it is written as an ordinary activation row whose version is the one below the top, which is
how a replay recognises it). So A, B, C, rollback, rollback leaves A active, and a third rollback
is refused.

Every switch loads the model first (in this process) and writes the row only if the load
succeeded; the in-process `ModelRegistry` is swapped after the row is committed. Other processes
follow through `sync_registry`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from serving.db.models import ModelActivationRow, ModelVersionRow
from serving.errors import Conflict
from serving.registry import (
    ActiveRef,
    InvalidArtifactError,
    LoadedModel,
    ModelNotFoundError,
    ModelRegistry,
    read_manifest,
)

logger = logging.getLogger(__name__)

REPORT_FILES = ("report.md", "evaluation.md")
METRICS_FILES = ("evaluation.json", "metrics.json")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A registered version as the API and CLI show it."""

    version: str
    path: str
    status: str
    active: bool
    previous: bool
    loaded: bool
    metrics: dict[str, Any]
    summary: dict[str, dict[str, float]]
    created_at: dt.datetime
    created_by: str
    activated_at: dt.datetime | None
    activated_by: str | None
    report_md: str | None
    load_error: str | None


# ---------------------------------------------------------------------- reading the history
def activations(session: Session) -> list[ModelActivationRow]:
    """The activation history, oldest first."""
    return list(session.scalars(select(ModelActivationRow).order_by(ModelActivationRow.id)))


def activation_stack(history: list[ModelActivationRow]) -> list[str]:
    """Replay the history into a stack of versions; the top is active."""
    stack: list[str] = []
    for row in history:
        if len(stack) >= 2 and row.version == stack[-2]:
            stack.pop()  # a rollback (or an explicit switch back to the previous version)
        elif not stack or row.version != stack[-1]:
            stack.append(row.version)
    return stack


def active_version(session: Session) -> str | None:
    row = session.scalars(
        select(ModelActivationRow).order_by(ModelActivationRow.id.desc()).limit(1)
    ).first()
    return row.version if row else None


def active_ref(session: Session) -> ActiveRef | None:
    """`(version, artifact folder)` of the active version, in one cheap query."""
    stmt = (
        select(ModelActivationRow.version, ModelVersionRow.path)
        .join(ModelVersionRow, ModelVersionRow.version == ModelActivationRow.version)
        .order_by(ModelActivationRow.id.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return (row[0], Path(row[1])) if row else None


def get_version(session: Session, version: str) -> ModelVersionRow:
    row = session.get(ModelVersionRow, version)
    if row is None:
        raise ModelNotFoundError(f"model version {version!r} is not registered", version=version)
    return row


def _info(
    row: ModelVersionRow,
    *,
    stack: list[str],
    last: dict[str, ModelActivationRow],
    registry: ModelRegistry | None,
    with_report: bool,
) -> ModelInfo:
    activation = last.get(row.version)
    failure = registry.failure(row.version) if registry is not None else None
    return ModelInfo(
        version=row.version,
        path=row.path,
        status=row.status,
        active=bool(stack) and stack[-1] == row.version,
        previous=len(stack) >= 2 and stack[-2] == row.version,
        loaded=registry is not None and row.version in registry.loaded_versions(),
        metrics=dict(row.metrics_json or {}),
        summary=metric_summary(row.metrics_json or {}),
        created_at=row.created_at,
        created_by=row.created_by,
        activated_at=activation.created_at if activation else None,
        activated_by=activation.created_by if activation else None,
        report_md=row.report_md if with_report else None,
        load_error=failure.message if failure else None,
    )


def list_models(session: Session, registry: ModelRegistry | None = None) -> list[ModelInfo]:
    """Every registered version, newest first, with its active/previous/loaded flags."""
    history = activations(session)
    stack = activation_stack(history)
    last = {row.version: row for row in history}
    rows = session.scalars(
        select(ModelVersionRow).order_by(
            ModelVersionRow.created_at.desc(), ModelVersionRow.version.desc()
        )
    )
    return [
        _info(row, stack=stack, last=last, registry=registry, with_report=False) for row in rows
    ]


def describe_model(
    session: Session, version: str, registry: ModelRegistry | None = None
) -> ModelInfo:
    row = get_version(session, version)
    history = activations(session)
    last = {r.version: r for r in history}
    return _info(
        row, stack=activation_stack(history), last=last, registry=registry, with_report=True
    )


def metric_summary(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per code system: ranking MAP and precision of `accepted` codes, where the report has them.

    Reads the evaluation harness's layout (`by_system.<system>.ranking.map`,
    `by_system.<system>.accepted.micro_p`); anything else yields an empty summary.
    """
    out: dict[str, dict[str, float]] = {}
    by_system = metrics.get("by_system")
    if not isinstance(by_system, dict):
        return out
    for system, block in by_system.items():
        if not isinstance(block, dict):
            continue
        picked: dict[str, float] = {}
        for name, section, key in (("map", "ranking", "map"), ("precision", "accepted", "micro_p")):
            value = (
                block.get(section, {}).get(key) if isinstance(block.get(section), dict) else None
            )
            if isinstance(value, int | float):
                picked[name] = round(float(value), 4)
        if picked:
            out[str(system)] = picked
    return out


# ---------------------------------------------------------------------- registering
def _read_first(folder: Path, names: tuple[str, ...]) -> str | None:
    for name in names:
        path = folder / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def _metrics(folder: Path) -> dict[str, Any]:
    raw = _read_first(folder, METRICS_FILES)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidArtifactError(f"the evaluation report in {folder} is not JSON: {exc}") from exc
    return value if isinstance(value, dict) else {"value": value}


def register(
    session: Session,
    model_dir: Path,
    *,
    models_dir: Path,
    actor: str,
    copy: bool = True,
) -> ModelVersionRow:
    """Register the artifact in `model_dir` under its manifest's version.

    With `copy` (the default) the folder is copied to `<models_dir>/<version>/` first, so the
    registry owns a stable copy; otherwise the row points at `model_dir` itself. Registering the
    same version twice is refused (versions are immutable).
    """
    model_dir = Path(model_dir).resolve()
    if not model_dir.is_dir():
        raise InvalidArtifactError(f"{model_dir} is not a folder")
    manifest = read_manifest(model_dir)
    version = str(manifest["version"])
    if session.get(ModelVersionRow, version) is not None:
        raise Conflict(
            f"model version {version!r} is already registered; versions are immutable",
            code="model_version_exists",
        )
    metrics = _metrics(model_dir)
    report = _read_first(model_dir, REPORT_FILES)
    target = model_dir
    if copy:
        target = (Path(models_dir) / version).resolve()
        if target != model_dir:
            if target.exists():
                raise Conflict(
                    f"{target} already exists but version {version!r} is not registered; "
                    "move it away or register it with copy disabled",
                    code="model_folder_exists",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{version}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(model_dir, staging)
            staging.rename(target)  # a crash mid-copy never leaves a half folder under the name
    row = ModelVersionRow(
        version=version,
        path=str(target),
        status="registered",
        metrics_json=metrics,
        report_md=report,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    logger.info("registered model %s at %s", version, target)
    return row


# ---------------------------------------------------------------------- switching
def _switch(
    session: Session, registry: ModelRegistry, version: str, actor: str
) -> tuple[LoadedModel, str | None]:
    row = get_version(session, version)
    loaded = registry.load(version, Path(row.path))  # raises ModelLoadError: nothing written
    previous = active_version(session)
    session.add(ModelActivationRow(version=version, previous_version=previous, created_by=actor))
    session.commit()
    registry.activate(version, Path(row.path))  # already loaded: a reference swap
    logger.info("model %s activated by %s (previous: %s)", version, actor, previous)
    return loaded, previous


def activate(session: Session, registry: ModelRegistry, version: str, *, actor: str) -> ModelInfo:
    """Load `version`, record the activation and swap it in. A failed load writes nothing."""
    if active_version(session) == version:
        if registry.active_version == version:
            raise Conflict(f"model {version!r} is already active", code="model_already_active")
        # Active in the database but this process could not load it: retry the load only.
        registry.activate(version, Path(get_version(session, version).path))
        return describe_model(session, version, registry)
    _switch(session, registry, version, actor)
    return describe_model(session, version, registry)


def rollback(session: Session, registry: ModelRegistry, *, actor: str) -> ModelInfo:
    """Re-activate the version that was active before the current one."""
    stack = activation_stack(activations(session))
    if len(stack) < 2:
        raise Conflict("there is no earlier model version to roll back to", code="no_rollback")
    target = stack[-2]
    _switch(session, registry, target, actor)
    return describe_model(session, target, registry)


# ---------------------------------------------------------------------- process lifecycle
def sync_registry(registry: ModelRegistry, factory: sessionmaker[Session]) -> None:
    """Follow the database's active version (cheap: at most one query per poll interval)."""

    def fetch() -> ActiveRef | None:
        with factory() as session:
            return active_ref(session)

    registry.sync(fetch)


def _replaced(ref: ActiveRef, folder: Path) -> bool:
    """Whether the active version was registered in place from `folder` and the artifact there
    is now another version."""
    version, path = ref
    if (
        path is None
        or path.resolve() != folder.resolve()
        or not (folder / "manifest.json").is_file()
    ):
        return False
    try:
        return bool(read_manifest(folder)["version"] != version)
    except InvalidArtifactError:
        return False  # a broken folder: loading the active version reports it


def bootstrap(
    registry: ModelRegistry,
    factory: sessionmaker[Session],
    default_model_dir: Path | None,
    *,
    actor: str = "system:startup",
) -> str | None:
    """At startup: make sure some version is active and loaded; return it.

    If the database has no activation yet and `default_model_dir` holds an artifact, that
    artifact is registered in place (not copied) and activated; the same happens when the active
    version was registered in place from that folder and the folder now holds another version
    (the default model retrained where it stood). Otherwise the active version is loaded; if it
    fails to load, the error is logged and the process serves nothing until an admin activates a
    loadable version (readiness reports it).
    """
    with factory() as session:
        ref = active_ref(session)
        default = Path(default_model_dir) if default_model_dir is not None else None
        if default is not None and default.is_dir() and (ref is None or _replaced(ref, default)):
            manifest = read_manifest(default)
            version = str(manifest["version"])
            if session.get(ModelVersionRow, version) is None:
                register(
                    session,
                    default,
                    models_dir=registry.models_dir,
                    actor=actor,
                    copy=False,
                )
            _switch(session, registry, version, actor)
            return version
    if ref is None:
        return None
    registry.sync(lambda: ref, force=True, wait=True)
    return registry.active_version
