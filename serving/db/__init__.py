"""Storage: typed ORM tables, engine/session factory and packaged Alembic migrations."""

from serving.db.engine import make_engine, make_session_factory, normalise_url, session_scope
from serving.db.migrate import alembic_config, migrate
from serving.db.models import Base

__all__ = [
    "Base",
    "alembic_config",
    "make_engine",
    "make_session_factory",
    "migrate",
    "normalise_url",
    "session_scope",
]
