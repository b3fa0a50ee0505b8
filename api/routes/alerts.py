"""Staff API for alerts (token-protected JSON)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import SessionDep, StaffDep
from waymark.services import alerts

router = APIRouter(prefix="/staff/api/alerts", tags=["alerts"])


class AckIn(BaseModel):
    """Who acknowledges."""

    staff_member_id: int | None = None
    actor: str | None = Field(default=None, max_length=120)


class NoteIn(BaseModel):
    """A note on an alert."""

    text: str = Field(min_length=1, max_length=5000)
    actor: str | None = Field(default=None, max_length=120)


@router.get("")
def list_alerts(
    session: SessionDep, _: StaffDep, status: str | None = None
) -> list[dict[str, Any]]:
    """Alerts, newest first."""
    return [alerts.to_dict(a) for a in alerts.list_alerts(session, status=status)]


@router.get("/{reference}")
def get_alert(reference: str, session: SessionDep, _: StaffDep) -> dict[str, Any]:
    """One alert with its messages, events, pages and the person's chronology."""
    alert = alerts.get(session, reference=reference)
    data = alerts.to_dict(alert, full=True)
    data["chronology"] = alerts.chronology(session, contact_id=alert.contact_id)
    return data


@router.post("/{reference}/ack")
def acknowledge(
    reference: str, body: AckIn, session: SessionDep, actor: StaffDep
) -> dict[str, Any]:
    """Acknowledge an alert: escalation stops."""
    alert = alerts.acknowledge(
        session,
        reference=reference,
        actor=body.actor or actor,
        staff_member_id=body.staff_member_id,
    )
    session.commit()
    return alerts.to_dict(alert)


@router.post("/{reference}/notes", status_code=201)
def add_note(reference: str, body: NoteIn, session: SessionDep, actor: StaffDep) -> dict[str, Any]:
    """Add a note to an alert's record."""
    event = alerts.add_note(session, reference=reference, actor=body.actor or actor, text=body.text)
    session.commit()
    return {"at": event.at.isoformat(), "actor": event.actor, "text": event.text}
