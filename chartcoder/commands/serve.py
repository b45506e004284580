"""CLI commands: `chartcoder serve`, `chartcoder users add`, `chartcoder corrections export`.

All three act on one data folder (default `./chartcoder-data`): its SQLite database (or
`CHARTCODER_DATABASE_URL`) and its `models/`. Heavy imports happen inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from serving.settings import Settings

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Data folder: SQLite database and models/ [default: ./chartcoder-data, or "
        "$CHARTCODER_DATA_DIR].",
        show_default=False,
    ),
]

users_app = typer.Typer(name="users", help="API users and their keys.", no_args_is_help=True)
corrections_app = typer.Typer(
    name="corrections", help="Coder corrections, for retraining.", no_args_is_help=True
)


def _settings(data_dir: Path | None, model: Path | None = None) -> Settings:
    """Settings from the environment, with the command-line options on top."""
    from pydantic import ValidationError

    from serving.settings import Settings

    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if model is not None:
        overrides["model_dir"] = model
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _fail(f"invalid settings: {exc}") from None


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)


def _quiet_alembic() -> None:
    import logging

    logging.getLogger("alembic").setLevel(logging.WARNING)


def _session_factory(settings: Settings) -> Any:
    from sqlalchemy.exc import OperationalError

    from serving.db import make_engine, make_session_factory, migrate

    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
    except OperationalError as exc:
        raise _fail(f"cannot open the database: {exc.orig}") from None
    return make_session_factory(engine)


def _serve_this_model(settings: Settings, model: Path) -> None:
    """`--model DIR`: make DIR the active version (registered in place if new), so the server
    serves it even when the database already had another active version."""
    from serving.db.models import ModelVersionRow
    from serving.errors import ServiceError
    from serving.registry import ModelRegistry, read_manifest
    from serving.services import models as model_services

    try:
        version = str(read_manifest(model)["version"])
        factory = _session_factory(settings)
        with factory() as session:
            current = model_services.active_version(session)
            if current is None or current == version:
                return  # the app's startup registers and activates it
            if session.get(ModelVersionRow, version) is None:
                model_services.register(
                    session,
                    model,
                    models_dir=settings.data_dir / "models",
                    actor="cli:serve",
                    copy=False,
                )
                session.commit()
            registry = ModelRegistry(settings.data_dir / "models")
            model_services.activate(session, registry, version, actor="cli:serve")
            session.commit()
            typer.echo(f"activated model {version} (was {current})", err=True)
    except ServiceError as exc:
        raise _fail(f"--model {model}: {exc.message}") from None


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    data_dir: DataDir = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            help="Model folder to serve [default: <data-dir>/models/default, trained on first "
            "start from the synthetic corpus].",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start the chartcoder API and print its URL."""
    _quiet_alembic()
    import uvicorn

    from serving.app import _ensure_model_dir, create_app

    settings = _settings(data_dir, model)
    if model is not None:
        _serve_this_model(settings, model)
    else:
        _ensure_model_dir(settings)  # trains the default model (progress bars) in the foreground
    app = create_app(settings)
    url = f"http://{host}:{port}"
    typer.echo(f"chartcoder API at {url}  (docs: {url}/docs)")
    sys.stdout.flush()
    uvicorn.run(app, host=host, port=port, log_level="info")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (no spaces).")],
    role: Annotated[str, typer.Option("--role", help="coder, auditor, ehr or admin.")],
    data_dir: DataDir = None,
) -> None:
    """Create a user and print their new API key (the last line; shown only once)."""
    _quiet_alembic()
    from serving.db import session_scope
    from serving.errors import ServiceError
    from serving.services.users import create_user

    factory = _session_factory(_settings(data_dir))
    try:
        with session_scope(factory) as session:
            user = create_user(session, name=name, role=role, created_by="cli")
    except ServiceError as exc:
        raise _fail(exc.message) from None
    typer.echo(f"created {user.role} user {user.name!r}. API key (shown once; store it now):")
    typer.echo(user.key)


@corrections_app.command("export")
def corrections_export(
    since: Annotated[
        str | None,
        typer.Option(help="ISO 8601 date or time; only sets (re-)reviewed at or after it."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="JSONL file to write [default: stdout].")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write reviewed cases as training examples (JSON Lines), as GET /v1/corrections/export."""
    import datetime as dt
    import json

    _quiet_alembic()
    from serving.services import corrections

    since_dt = None
    if since is not None:
        try:
            since_dt = dt.datetime.fromisoformat(since)
        except ValueError:
            raise _fail(f"--since must be an ISO 8601 date or time; got {since!r}") from None
    factory = _session_factory(_settings(data_dir))
    n = 0
    with factory() as session:
        stream = out.open("w", encoding="utf-8") if out is not None else sys.stdout
        try:
            for row in corrections.export(session, since_dt):
                stream.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        finally:
            if out is not None:
                stream.close()
    typer.echo(f"exported {n} reviewed cases" + (f" to {out}" if out else ""), err=True)


def register(app: typer.Typer) -> None:
    """Attach this module's commands to the root app."""
    app.command("serve")(serve)
    app.add_typer(users_app)
    app.add_typer(corrections_app)
