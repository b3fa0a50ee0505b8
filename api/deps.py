"""Shared dependencies, as `Annotated` types."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.orm import Session

from waymark.settings import Settings


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """A session per request, committed by the service code that needs it."""
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def require_staff(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> str:
    """Staff API access: `Authorization: Bearer <STAFF_API_TOKEN>`. Returns the actor name."""
    token = settings.staff_api_token
    supplied = (authorization or "").removeprefix("Bearer ").strip()
    if not token or not supplied or not hmac.compare_digest(token, supplied):
        raise HTTPException(status_code=401, detail="a valid staff token is required")
    return "staff-api"


StaffDep = Annotated[str, Depends(require_staff)]
