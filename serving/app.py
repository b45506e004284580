"""The FastAPI application: `create_app(settings) -> FastAPI`.

Nothing happens at import time. `create_app` wires routers, error handlers and metrics; the
lifespan opens the database (applying migrations), then loads the served model into the
`ModelRegistry` (`app.state.registry`), training the default model first if it is missing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from model.codesets import get_catalog
from serving import __version__
from serving.db import make_engine, make_session_factory, migrate
from serving.errors import PayloadTooLarge
from serving.metrics import Metrics, MetricsMiddleware
from serving.registry import ModelRegistry
from serving.services import models as model_services
from serving.settings import Settings, get_settings

logger = logging.getLogger(__name__)

STARTUP_ACTOR = "system:startup"

DESCRIPTION = """\
Ranked ICD-10-CM and CPT/HCPCS code suggestions for physician notes, with calibrated scores and
evidence spans (end-exclusive character offsets into the note); coder review with a correction
log; QA audit sampling; a model registry; claims; CDS Hooks.

Send `Authorization: Bearer KEY` (create keys with `chartcoder users add NAME --role ROLE`).
Errors are JSON: `{"error": {"code", "message", "field"?, "details"?}}`.
CPT descriptions are plain-language labels written by chartcoder, not AMA descriptors.
"""


def _ensure_model_dir(settings: Settings) -> Path:
    """The model folder to serve; the default one is trained first if it holds no model, or one
    an older chartcoder trained on another feature set (`ensure_default_model` decides)."""
    model_dir = settings.resolved_model_dir
    if settings.model_dir is not None or not settings.train_default_model:
        return model_dir  # an explicit folder is never trained into; a bad one fails on load
    try:
        from training.default import ensure_default_model
    except ImportError:
        logger.warning("no trainer available for the default model at %s", model_dir)
        return model_dir
    return Path(ensure_default_model(model_dir, progress=True))


def _load_model(app: FastAPI, settings: Settings) -> None:
    """Load the served model; on failure keep serving the API (readyz says why)."""
    registry: ModelRegistry = app.state.registry
    factory = app.state.session_factory
    app.state.sync_registry = lambda: model_services.sync_registry(registry, factory)
    try:
        model_dir = _ensure_model_dir(settings)
        model_services.bootstrap(registry, factory, model_dir, actor=STARTUP_ACTOR)
    except Exception as exc:  # noqa: BLE001 - reported by /readyz and 503s, never fatal
        app.state.model_error = f"{type(exc).__name__}: {exc}"
        logger.error("model not loaded: %s", app.state.model_error)
        return
    if registry.active_version is None:
        failure = registry.last_error
        app.state.model_error = (
            failure.message if failure else f"no model is registered and none at {model_dir}"
        )
        logger.error("model not loaded: %s", app.state.model_error)
    else:
        app.state.model_error = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.registry = ModelRegistry(settings.data_dir / "models")
    _load_model(app, settings)
    get_catalog()  # built once per process; first review or /v1/codes call would pay it
    logger.info("chartcoder ready (environment %s)", settings.environment)
    try:
        yield
    finally:
        app.state.registry.wait_for_background(timeout=5)
        engine.dispose()


class BodySizeLimit:
    """Refuse request bodies whose declared length exceeds `max_bytes` (413, before parsing)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                    err = PayloadTooLarge(
                        f"request body of {int(value)} bytes is over the limit of "
                        f"{self.max_bytes} bytes",
                        code="body_too_large",
                    )
                    from fastapi.responses import JSONResponse

                    await JSONResponse(err.body(), status_code=err.status)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _include_routers(app: FastAPI) -> None:
    from serving.cds_hooks.router import router as cds_router
    from serving.claims.router import router as claims_router
    from serving.routers import audit, codes, corrections, health, models, suggestions

    app.include_router(health.router)
    app.include_router(suggestions.router)
    app.include_router(corrections.router)
    app.include_router(codes.router)
    app.include_router(models.router)
    app.include_router(audit.router)
    app.include_router(claims_router, prefix="/v1")
    app.include_router(cds_router)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. `settings` default to the environment (`CHARTCODER_*`)."""
    from serving.errors import install_error_handlers

    settings = settings or get_settings()
    app = FastAPI(
        title="chartcoder",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.model_error = "starting"
    install_error_handlers(app)
    _include_routers(app)
    # Notes are the bulk of any body; JSON escaping can at most ~6x a character.
    max_body = settings.max_note_chars * 6 + 256 * 1024
    app.add_middleware(BodySizeLimit, max_bytes=max_body)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
