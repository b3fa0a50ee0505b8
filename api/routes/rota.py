"""Staff API for the duty rota."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import SessionDep, SettingsDep, StaffDep
from waymark.services import rota

router = APIRouter(prefix="/staff/api/rota", tags=["rota"])


class StaffIn(BaseModel):
    """A staff member."""

    name: str = Field(min_length=1, max_length=120)
    phone: str = Field(min_length=6, max_length=20)
    role: str = "worker"


class ShiftIn(BaseModel):
    """A shift: who is on duty between two times."""

    starts_at: datetime
    ends_at: datetime
    primary_id: int
    backup_id: int | None = None
    manager_id: int | None = None


def _team(team: rota.DutyTeam | None) -> dict[str, Any]:
    if team is None:
        return {"primary": None, "backup": None, "manager": None}
    return {
        "primary": {"id": team.primary.id, "name": team.primary.name},
        "backup": {"id": team.backup.id, "name": team.backup.name} if team.backup else None,
        "manager": {"id": team.manager.id, "name": team.manager.name} if team.manager else None,
    }


@router.get("/now")
def on_duty_now(session: SessionDep, _: StaffDep) -> dict[str, Any]:
    """Who is on duty now."""
    return _team(rota.current_team(session))


@router.post("/staff", status_code=201)
def add_staff(
    body: StaffIn, session: SessionDep, settings: SettingsDep, _: StaffDep
) -> dict[str, Any]:
    """Add a staff member who can be paged."""
    member = rota.add_staff(session, settings, name=body.name, phone=body.phone, role=body.role)
    session.commit()
    return {"id": member.id, "name": member.name, "role": member.role}


@router.post("/shifts", status_code=201)
def add_shift(body: ShiftIn, session: SessionDep, _: StaffDep) -> dict[str, Any]:
    """Put a team on duty between two times."""
    shift = rota.add_shift(session, **body.model_dump())
    session.commit()
    return {
        "id": shift.id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat(),
    }
