"""Apply the packaged Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from serving.db.engine import make_engine

logger = logging.getLogger(__name__)

SCRIPT_LOCATION = "serving:migrations"


def alembic_config() -> Config:
    """Alembic config pointing at the migrations shipped inside the `serving` package."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    return cfg


def migrate(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest)."""
    engine = make_engine(engine_or_url) if isinstance(engine_or_url, str) else engine_or_url
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
    logger.debug("database schema at %s", revision)
    if isinstance(engine_or_url, str):
        engine.dispose()
