"""Request dependencies, as `Annotated` aliases.

- `SettingsDep`: the app's `Settings` (`app.state.settings`).
- `SessionDep`: one SQLAlchemy session = one transaction per request; committed when the handler
  returns, rolled back on any error.
- `SuggesterDep`: the model currently served (`app.state.registry.current()`); 503 while none
  is loaded.
- `CurrentUser`: the caller, from `Authorization: Bearer KEY` (401 otherwise).
- `require_roles(*roles)`: a dependency returning the caller if their role is allowed (403
  otherwise); `admin` passes every check.

Tests swap any of these with `app.dependency_overrides`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from model.suggestion import Suggester
from serving.db.models import ROLES, User
from serving.errors import Forbidden, ModelUnavailable, Unauthenticated
from serving.registry import ModelRegistry
from serving.security import key_prefix, verify_key
from serving.settings import Settings


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    return factory


def get_session(
    factory: Annotated[sessionmaker[Session], Depends(get_session_factory)],
) -> Iterator[Session]:
    """One transaction per request: commit after the handler, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_suggester(request: Request) -> Suggester:
    """The active model, following activations made elsewhere (other workers, the CLI)."""
    registry: ModelRegistry | None = getattr(request.app.state, "registry", None)
    if registry is None:
        raise ModelUnavailable("the model registry is not started", retry_after=30)
    sync = getattr(request.app.state, "sync_registry", None)
    if sync is not None:
        sync()
    if registry.active_version is None:
        reason = getattr(request.app.state, "model_error", None) or "no model is active"
        raise ModelUnavailable(f"the model is not available: {reason}", retry_after=30)
    return registry.current()


SuggesterDep = Annotated[Suggester, Depends(get_suggester)]


@dataclass(frozen=True, slots=True)
class AuthUser:
    """The authenticated caller (never an ORM row)."""

    id: int
    name: str
    role: str


_bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer KEY`")


def get_current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthUser:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("missing API key: send `Authorization: Bearer KEY`")
    key = credentials.credentials.strip()
    rows = session.scalars(select(User).where(User.key_prefix == key_prefix(key))).all()
    for row in rows:
        if verify_key(key, row.key_hash):
            if row.disabled_at is not None:
                raise Unauthenticated("this API key is disabled")
            return AuthUser(id=row.id, name=row.name, role=row.role)
    raise Unauthenticated("invalid API key")


CurrentUser = Annotated[AuthUser, Depends(get_current_user)]


def require_roles(*roles: str) -> Callable[[AuthUser], AuthUser]:
    """A dependency allowing `roles` (and always `admin`)."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown roles {unknown}; allowed: {', '.join(ROLES)}")
    allowed = frozenset(roles) | {"admin"}

    def check(user: CurrentUser) -> AuthUser:
        if user.role not in allowed:
            raise Forbidden(
                f"role {user.role!r} may not do this; allowed roles: {', '.join(sorted(allowed))}",
                code="forbidden_role",
            )
        return user

    check.__name__ = f"require_{'_'.join(sorted(allowed))}"
    return check


CoderUser = Annotated[AuthUser, Depends(require_roles("coder"))]
AuditorUser = Annotated[AuthUser, Depends(require_roles("auditor"))]
AdminUser = Annotated[AuthUser, Depends(require_roles())]
AnyUser = Annotated[AuthUser, Depends(require_roles(*ROLES))]
