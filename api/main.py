"""The FastAPI application: gateway, staff API, health, and the test phone in development."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session, sessionmaker

from api.routes import alerts, dev_phone, health, rota, twilio
from waymark import errors
from waymark.db import get_sessionmaker, make_engine
from waymark.screen import screen
from waymark.settings import Settings, get_settings
from waymark.worker import Worker

log = logging.getLogger(__name__)

ERROR_STATUS: dict[type[errors.WaymarkError], int] = {
    errors.NotFound: 404,
    errors.InvalidInput: 422,
    errors.Conflict: 409,
    errors.NotAuthorised: 403,
    errors.ConfigurationError: 503,
}


def create_app(
    settings: Settings | None = None,
    sessions: sessionmaker[Session] | None = None,
    *,
    run_worker: bool = True,
) -> FastAPI:
    """Build the app. Tests pass their own settings and sessions."""
    settings = settings or get_settings()
    if sessions is None:
        sessions = (
            get_sessionmaker()
            if settings is get_settings()
            else sessionmaker(
                bind=make_engine(settings.waymark_database_url), expire_on_commit=False
            )
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        # Load the screen before taking traffic: its first call trains the classifier, and a
        # webhook must answer Twilio within seconds.
        await run_in_threadpool(screen, "warm up")
        if run_worker:
            worker = Worker(settings, sessions)
            worker.start()
            app.state.worker = worker
        yield
        if worker is not None:
            worker.stop()

    app = FastAPI(
        title="Waymark", lifespan=lifespan, docs_url=None if settings.is_production else "/docs"
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.worker = None

    @app.exception_handler(errors.WaymarkError)
    async def _domain_error(_: Request, exc: errors.WaymarkError) -> JSONResponse:
        status = next((code for kind, code in ERROR_STATUS.items() if isinstance(exc, kind)), 400)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return JSONResponse({"detail": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Never a bare 500: Twilio retries a 503 and then uses the fallback URL.
        log.exception("unexpected error: %s", type(exc).__name__)
        return JSONResponse({"detail": "temporarily unavailable, try again"}, status_code=503)

    for router in (health.router, twilio.router, alerts.router, rota.router):
        app.include_router(router)
    if not settings.is_production:
        app.include_router(dev_phone.router)
    return app


def app_factory() -> FastAPI:
    """Entry point for uvicorn --factory (`WAYMARK_RUN_WORKER=0` runs the API alone)."""
    return create_app(run_worker=os.environ.get("WAYMARK_RUN_WORKER", "1") != "0")
