"""API users and their keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.db.models import ROLES, User, as_utc
from serving.errors import Conflict, InvalidInput
from serving.security import generate_key, hash_key

MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class NewUser:
    id: int
    name: str
    role: str
    key: str  # shown once, never stored
    key_prefix: str
    created_at: dt.datetime


def create_user(session: Session, *, name: str, role: str, created_by: str) -> NewUser:
    """Add a user with a fresh API key. Raises `InvalidInput` / `Conflict`. Does not commit."""
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or any(ch.isspace() for ch in name):
        raise InvalidInput(
            f"user name must be 1-{MAX_NAME} characters without spaces; got {name!r}",
            field="name",
        )
    if role not in ROLES:
        raise InvalidInput(
            f"unknown role {role!r}; allowed: {', '.join(ROLES)}", code="unknown_role", field="role"
        )
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists", code="user_exists", field="name")
    key, prefix = generate_key()
    row = User(
        name=name, role=role, key_hash=hash_key(key), key_prefix=prefix, created_by=created_by
    )
    session.add(row)
    session.flush()
    return NewUser(row.id, row.name, row.role, key, prefix, as_utc(row.created_at))
