"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from waymark.rasa import action_server_ready, rasa_ready

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(settings: SettingsDep, session: SessionDep) -> JSONResponse:
    """200 only when the database, Rasa (with a model loaded) and the action server answer."""

    def _database() -> bool:
        try:
            session.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    checks = {
        "database": await run_in_threadpool(_database),
        "rasa": await run_in_threadpool(rasa_ready, settings),
        "action_server": await run_in_threadpool(action_server_ready, settings),
    }
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
