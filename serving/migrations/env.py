"""Alembic environment for chartcoder.

Run through `serving.db.migrate`, which passes an open connection in
`config.attributes["connection"]`; no alembic.ini and no logging config are read.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from serving.db.engine import make_engine
from serving.db.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection or sqlalchemy.url given to the chartcoder migrations")
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("chartcoder migrations run online only (serving.db.migrate)")
run_migrations_online()
