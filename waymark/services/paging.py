"""Paging named duty workers: pages stored with the alert, an escalation ladder until someone
acknowledges, and immediate escalation when a page can never be delivered."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from waymark import copy
from waymark.crypto import decrypt_phone
from waymark.models import Alert, AlertEvent, OutboundMessage, Page, StaffMember, utcnow
from waymark.queue import enqueue
from waymark.services import handover, rota
from waymark.settings import Settings

log = logging.getLogger(__name__)


def escalation_gaps(settings: Settings, severity: str) -> list[timedelta]:
    """Gaps between levels, from cumulative minutes (default emergency "5,10": 5 min to the
    backup, 10 min to the manager, then round again)."""
    offsets = settings.escalation_minutes(severity)
    gaps, previous = [], 0
    for offset in offsets:
        gaps.append(timedelta(minutes=max(offset - previous, 1)))
        previous = offset
    return gaps


def page_text(settings: Settings, alert: Alert, *, escalated: bool) -> str:
    """The SMS a worker gets: reference, severity, category and where to look, never the words."""
    category = (alert.categories[0] if alert.categories else "concern").replace("_", " ")
    return copy.render(
        "utter_staff_page_escalated" if escalated else "utter_staff_page",
        reference=alert.reference,
        severity=alert.severity,
        category=category,
        url=f"{settings.dashboard_url}/alerts/{alert.reference}",
    )


def page(
    session: Session,
    settings: Settings,
    *,
    alert: Alert,
    staff: StaffMember,
    level: int,
    now: datetime | None = None,
) -> Page:
    """Store a page and queue its SMS from the staff sender, in the caller's transaction."""
    now = now or utcnow()
    record = Page(alert_id=alert.id, staff_member_id=staff.id, level=level, created_at=now)
    session.add(record)
    session.flush()
    enqueue(
        session,
        settings,
        kind="page",
        channel="sms",
        to_phone=decrypt_phone(settings, staff.phone_encrypted),
        body=page_text(settings, alert, escalated=level > 0),
        staff_member_id=staff.id,
        page_id=record.id,
    )
    alert.last_paged_at = now
    session.add(
        AlertEvent(
            alert_id=alert.id,
            kind="paged",
            actor="system",
            text=f"paged {staff.name} (level {level})",
            at=now,
        )
    )
    return record


def start_paging(
    session: Session, settings: Settings, *, alert: Alert, now: datetime | None = None
) -> Page | None:
    """Page the duty worker for a new alert and set the first escalation time."""
    now = now or utcnow()
    team = rota.current_team(session, at=now)
    if team is None:
        log.error(
            "alert %s: nobody is on the duty rota; it waits on the dashboard", alert.reference
        )
        session.add(AlertEvent(alert_id=alert.id, kind="unpaged", text="no duty rota configured"))
        return None
    record = page(session, settings, alert=alert, staff=team.primary, level=0, now=now)
    gaps = escalation_gaps(settings, alert.severity)
    alert.escalation_level = 0
    alert.next_escalation_at = now + gaps[0] if gaps else None
    return record


def escalate_due(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Page the next person for every open alert whose escalation time has come."""
    now = now or utcnow()
    due = session.scalars(
        select(Alert).where(Alert.status == "open", Alert.next_escalation_at <= now).limit(50)
    ).all()
    for alert in due:
        team = rota.current_team(session, at=now)
        gaps = escalation_gaps(settings, alert.severity) or [timedelta(minutes=15)]
        if team is None:
            alert.next_escalation_at = now + gaps[0]
            continue
        level = alert.escalation_level + 1
        ladder = team.ladder
        page(
            session, settings, alert=alert, staff=ladder[level % len(ladder)], level=level, now=now
        )
        alert.escalation_level = level
        alert.next_escalation_at = now + gaps[level % len(gaps)]
        session.add(AlertEvent(alert_id=alert.id, kind="escalated", text=f"level {level}", at=now))
    return len(due)


def on_send_result(
    session: Session, *, message: OutboundMessage, delivered: bool, permanent: bool
) -> None:
    """Keep a page's status; a page that can never be delivered escalates at once."""
    if message.page_id is None:
        return
    record = session.get_one(Page, message.page_id)
    if delivered:
        record.status = "sent"
        return
    if permanent:
        record.status = "failed"
        alert = session.get_one(Alert, record.alert_id)
        session.add(
            AlertEvent(
                alert_id=alert.id,
                kind="page_failed",
                text=f"page could not be delivered (error {message.last_error_code}); escalating",
            )
        )
        # Only the newest level jumps ahead, and not forever when every number fails.
        if (
            alert.status == "open"
            and record.level == alert.escalation_level
            and len(alert.pages) < 12
        ):
            alert.next_escalation_at = utcnow()


DIGEST_LISTED = 5


def send_concern_digest(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> int:
    """Send the duty worker one digest of the concern records (not paged) raised before the
    current duty window opened: "concern: a digest on the next working day". Returns how many
    records it covered."""
    now = now or utcnow()
    opened = handover.window_start(settings, at=now)
    if opened is None:
        return 0
    digested = select(AlertEvent.alert_id).where(AlertEvent.kind == "digested")
    pending = session.scalars(
        select(Alert)
        .where(
            Alert.severity == "concern",
            Alert.status == "open",
            Alert.created_at < opened,
            Alert.id.not_in(digested),
        )
        .order_by(Alert.id)
    ).all()
    team = rota.current_team(session, at=now)
    if not pending or team is None:
        return 0
    references = [a.reference for a in pending]
    listed = ", ".join(references[:DIGEST_LISTED])
    if len(references) > DIGEST_LISTED:
        listed += f" and {len(references) - DIGEST_LISTED} more"
    enqueue(
        session,
        settings,
        kind="page",
        channel="sms",
        to_phone=decrypt_phone(settings, team.primary.phone_encrypted),
        body=copy.render(
            "utter_staff_digest",
            count=len(references),
            references=listed,
            url=f"{settings.dashboard_url}/alerts",
        ),
        staff_member_id=team.primary.id,
    )
    for alert in pending:
        session.add(
            AlertEvent(
                alert_id=alert.id, kind="digested", text=f"in the digest to {team.primary.name}"
            )
        )
    return len(pending)
