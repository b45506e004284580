"""Domain errors with stable codes, mapped to HTTP in one place.

Every error response has the body
`{"error": {"code": str, "message": str, "field"?: str, "details"?: any}}`.
Routers and services raise `ServiceError` subclasses; nothing else builds error responses.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from model.text.note import NoteError

logger = logging.getLogger(__name__)

#: Seconds a client should wait before retrying when the database is unavailable.
DB_RETRY_AFTER_S = 5


class ServiceError(Exception):
    """Base class. `code` is stable API vocabulary; `status` is the HTTP status."""

    status: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details = details
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class InvalidInput(ServiceError):
    status = 422
    default_code = "invalid_input"


class NotFound(ServiceError):
    status = 404
    default_code = "not_found"


class Conflict(ServiceError):
    status = 409
    default_code = "conflict"


class Unauthenticated(ServiceError):
    status = 401
    default_code = "unauthenticated"

    def __init__(self, message: str = "missing or invalid API key", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(ServiceError):
    status = 403
    default_code = "forbidden"


class PayloadTooLarge(ServiceError):
    status = 413
    default_code = "payload_too_large"


class ServiceUnavailable(ServiceError):
    status = 503
    default_code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = DB_RETRY_AFTER_S, **kw: Any) -> None:
        kw.setdefault("headers", {"Retry-After": str(retry_after)})
        super().__init__(message, **kw)


class ModelUnavailable(ServiceUnavailable):
    default_code = "model_unavailable"


def note_error(exc: NoteError) -> ServiceError:
    """Map the model's note validation error onto the API."""
    cls: type[ServiceError] = PayloadTooLarge if exc.code == "note_too_long" else InvalidInput
    return cls(str(exc), code=exc.code, field=exc.field)


def _loc_to_field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out


def _validation_response(exc: RequestValidationError) -> JSONResponse:
    problems = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        problems.append(
            {"field": _loc_to_field(loc), "message": str(err.get("msg", "")), "type": err["type"]}
        )
    first = problems[0] if problems else {"field": "", "message": "invalid request"}
    message = "; ".join(f"{p['field']}: {p['message']}" for p in problems) or "invalid request"
    body = InvalidInput(
        message, code="validation_error", field=first["field"] or None, details=problems
    ).body()
    return JSONResponse(body, status_code=422)


def _db_unavailable(exc: Exception) -> JSONResponse:
    err = ServiceUnavailable(
        "the database is unavailable; nothing was written, retry later", code="db_unavailable"
    )
    logger.error("database unavailable: %s", type(exc).__name__)
    return JSONResponse(err.body(), status_code=err.status, headers=err.headers)


def install_error_handlers(app: FastAPI) -> None:
    """The one place domain and framework errors become HTTP responses."""

    async def on_service_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ServiceError)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)

    async def on_note_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NoteError)
        err = note_error(exc)
        return JSONResponse(err.body(), status_code=err.status)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _validation_response(exc)

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = {"error": {"code": code, "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    async def on_db_error(_: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, OperationalError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            return _db_unavailable(exc)
        if isinstance(exc, DataError):  # a value the database cannot store: bad input
            err = InvalidInput(
                "a value in the request cannot be stored (for example a NUL character)",
                code="unstorable_value",
            )
            return JSONResponse(err.body(), status_code=err.status)
        logger.exception("database error")
        body = {"error": {"code": "internal_error", "message": "internal database error"}}
        return JSONResponse(body, status_code=500)

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
        body = {"error": {"code": "internal_error", "message": "internal server error"}}
        return JSONResponse(body, status_code=500)

    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(NoteError, on_note_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DBAPIError, on_db_error)
