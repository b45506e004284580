"""CLI commands: `chartcoder models list|register|promote|rollback`.

They act on the same database and data folder as `chartcoder serve`; a running server follows a
promotion or rollback within about a second, without a restart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from serving.registry import ModelRegistry

models_app = typer.Typer(
    name="models",
    help="Registered model versions: list, register, promote, roll back.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        help="Data folder of the service (its SQLite database and models/).",
        envvar="CHARTCODER_DATA_DIR",
    ),
]
DEFAULT_DATA_DIR = Path("chartcoder-data")
ACTOR = "cli"


def _open(data_dir: Path) -> tuple[sessionmaker[Session], ModelRegistry]:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)
    from serving.db import make_engine, make_session_factory, migrate
    from serving.registry import ModelRegistry
    from serving.settings import Settings

    settings = Settings(data_dir=data_dir)
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return make_session_factory(engine), ModelRegistry(settings.data_dir / "models")


def _fail(exc: Exception) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


def _summary(summary: dict[str, dict[str, float]]) -> str:
    parts = [
        f"{system} " + " ".join(f"{k}={v:.3f}" for k, v in values.items())
        for system, values in summary.items()
    ]
    return " | ".join(parts) or "(no metrics)"


@models_app.command("list")
def list_cmd(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """List registered versions; `*` marks the active one, `<` the rollback target."""
    from serving.services import models as service

    factory, registry = _open(data_dir)
    with factory() as session:
        infos = service.list_models(session, registry)
    if as_json:
        rows = [
            {
                "version": i.version,
                "active": i.active,
                "previous": i.previous,
                "path": i.path,
                "summary": i.summary,
                "metrics": i.metrics,
                "created_at": i.created_at.isoformat(),
                "activated_at": i.activated_at.isoformat() if i.activated_at else None,
            }
            for i in infos
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not infos:
        typer.echo("no model versions registered")
        return
    for i in infos:
        mark = "*" if i.active else ("<" if i.previous else " ")
        created = i.created_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{mark} {i.version:<40} {created}  {_summary(i.summary)}")


@models_app.command("register")
def register_cmd(
    model_dir: Annotated[Path, typer.Argument(help="Artifact folder (with manifest.json).")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Copy an artifact into <data-dir>/models/<version>/ and register it (not activated)."""
    from serving.errors import ServiceError
    from serving.services import models as service

    factory, registry = _open(data_dir)
    try:
        with factory() as session:
            row = service.register(session, model_dir, models_dir=registry.models_dir, actor=ACTOR)
            session.commit()
    except ServiceError as exc:
        raise _fail(exc) from exc
    typer.echo(f"registered {row.version} at {row.path}")


@models_app.command("promote")
def promote_cmd(
    version: Annotated[str, typer.Argument(help="A registered version.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
) -> None:
    """Activate VERSION (loaded here first: a version that fails to load is not activated)."""
    from serving.errors import ServiceError
    from serving.services import models as service

    factory, registry = _open(data_dir)
    try:
        with factory() as session:
            previous = service.active_version(session)
            service.activate(session, registry, version, actor=ACTOR)
    except ServiceError as exc:
        raise _fail(exc) from exc
    typer.echo(f"active model: {version} (previous: {previous})")


@models_app.command("rollback")
def rollback_cmd(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Re-activate the version that was active before the current one."""
    from serving.errors import ServiceError
    from serving.services import models as service

    factory, registry = _open(data_dir)
    try:
        with factory() as session:
            previous = service.active_version(session)
            info = service.rollback(session, registry, actor=ACTOR)
    except ServiceError as exc:
        raise _fail(exc) from exc
    typer.echo(f"active model: {info.version} (rolled back from {previous})")


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.add_typer(models_app)
