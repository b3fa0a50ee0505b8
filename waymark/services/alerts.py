"""Safeguarding alerts: exactly one per disclosing message, a record a duty worker can use."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from waymark.errors import InvalidInput, NotFound
from waymark.models import (
    Alert,
    AlertEvent,
    AlertMessage,
    Contact,
    InboundMessage,
    OutboundMessage,
    StaffMember,
    utcnow,
)
from waymark.screen import screen
from waymark.screen.severity import is_paged
from waymark.services import paging
from waymark.settings import Settings

SEVERITY_ORDER = {"none": 0, "concern": 1, "urgent": 2, "emergency": 3}
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
OPEN = ("open", "acknowledged")


@dataclass(frozen=True)
class RaiseResult:
    """The outcome of raising an alert for a message."""

    alert: Alert
    created: bool  # a new alert
    joined: bool  # the message joined an alert already open for this person
    existing: bool  # the message was already covered: nothing changed


def new_reference() -> str:
    """A short, unambiguous, GSM-7 reference such as WM-7K3PQ."""
    return "WM-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(5))


def screen_message(
    session: Session, message: InboundMessage, *, result: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The screen's result for a message, computed once and stored on it.

    Args:
        session: The open session.
        message: The stored inbound message.
        result: The screen's result, already computed outside the transaction (optional).

    Returns:
        The stored result (the first one stored wins).
    """
    if message.screen is None:
        if result is None:
            result = screen(message.body or "").to_dict()
        message.screen = result
        message.screen_severity = result["severity"]
        session.flush()
    return message.screen


def _speaker(role: str | None, screen_speaker: str) -> str:
    if role == "parent" or screen_speaker == "parent":
        return "parent"
    if screen_speaker == "about_other":
        return "young_person_about_someone_else"
    return "young_person" if role == "young_person" or screen_speaker == "self" else "unknown"


def _context_turns(session: Session, contact_id: int, before: datetime) -> list[dict[str, Any]]:
    """The last few turns before the disclosure, both directions, for the record."""
    inbound = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.contact_id == contact_id, InboundMessage.received_at < before)
        .order_by(InboundMessage.id.desc())
        .limit(4)
    ).all()
    outbound = session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == contact_id, OutboundMessage.created_at < before)
        .order_by(OutboundMessage.id.desc())
        .limit(4)
    ).all()
    turns = [
        {"at": m.received_at.isoformat(), "from": "person", "text": m.body} for m in inbound
    ] + [{"at": m.created_at.isoformat(), "from": "waymark", "text": m.body} for m in outbound]
    return sorted(turns, key=lambda t: t["at"])


def _merge(alert: Alert, result: dict[str, Any], severity: str) -> None:
    if SEVERITY_ORDER[severity] > SEVERITY_ORDER[alert.severity]:
        alert.severity = severity
    alert.categories = list(dict.fromkeys([*alert.categories, *result.get("categories", [])]))
    alert.evidence = list(dict.fromkeys([*alert.evidence, *result.get("evidence", [])]))
    contexts = {k: list(v) for k, v in (alert.contexts or {}).items()}
    for key, values in (result.get("contexts") or {}).items():
        contexts[key] = list(dict.fromkeys([*contexts.get(key, []), *values]))
    alert.contexts = contexts


def open_alert_for(session: Session, *, contact_id: int) -> Alert | None:
    """The person's newest alert that is not closed: further disclosures join it."""
    return session.scalar(
        select(Alert)
        .where(Alert.contact_id == contact_id, Alert.status.in_(OPEN))
        .order_by(Alert.id.desc())
        .limit(1)
    )


def raise_for_message(
    session: Session,
    settings: Settings,
    *,
    inbound_message_id: int,
    source: str,
    role: str | None = None,
    assistant_flagged: bool = False,
    now: datetime | None = None,
    _attempt: int = 1,
) -> RaiseResult:
    """Make sure a disclosing message is covered by exactly one alert, paging when it must.

    Idempotent: a message already covered returns its alert unchanged, so the assistant, the
    gateway's fail-safe and the reconciler can all call this for the same message.

    Args:
        session: the open session (the caller commits).
        settings: settings.
        inbound_message_id: the message.
        source: "assistant", "gateway" or "reconcile".
        role: the person's role if the assistant knows it ("young_person" or "parent").
        assistant_flagged: the assistant's own classifier judged it a disclosure.
        now: the time (for tests).

    Raises:
        NotFound: no such message.
        InvalidInput: the message discloses nothing and the assistant did not flag it.
    """
    now = now or utcnow()
    message = session.get(InboundMessage, inbound_message_id)
    if message is None or message.contact_id is None:
        raise NotFound("no such message")
    covered = session.scalar(
        select(AlertMessage).where(AlertMessage.inbound_message_id == message.id)
    )
    if covered is not None:
        return RaiseResult(covered.alert, created=False, joined=False, existing=True)

    result = screen_message(session, message)
    severity = result["severity"]
    evidence = list(result.get("evidence", []))
    if severity == "none":
        if not assistant_flagged:
            raise InvalidInput("the message does not disclose harm")
        # The assistant's classifier saw a disclosure the screen did not: a record for review.
        severity = "concern"
        evidence.append("assistant classifier: disclose_harm")
    result = {**result, "evidence": evidence}
    contact = session.get_one(Contact, message.contact_id)
    open_alert = open_alert_for(session, contact_id=contact.id)
    try:
        with session.begin_nested():
            if open_alert is not None:
                alert, created = open_alert, False
                was_paged_severity = is_paged(alert.severity)
                _merge(alert, result, severity)
                alert.updated_at = now
            else:
                alert = Alert(
                    reference=new_reference(),
                    contact_id=contact.id,
                    severity=severity,
                    categories=list(result.get("categories", [])),
                    evidence=evidence,
                    speaker=_speaker(role or contact.role, result.get("speaker", "unknown")),
                    contexts=result.get("contexts") or {},
                    source=source,
                    confidentiality_notice_shown=contact.notice_shown_at is not None,
                    context_turns=_context_turns(session, contact.id, message.received_at),
                    created_at=now,
                    updated_at=now,
                )
                session.add(alert)
                session.flush()
                created, was_paged_severity = True, False
            session.add(
                AlertMessage(
                    alert_id=alert.id, inbound_message_id=message.id, source=source, added_at=now
                )
            )
            session.add(
                AlertEvent(
                    alert_id=alert.id,
                    kind="created" if created else "joined",
                    actor=source,
                    text=f"{severity}: {', '.join(result.get('categories', [])) or 'unspecified'}",
                    at=now,
                )
            )
            session.flush()
    except IntegrityError:
        covered = session.scalar(
            select(AlertMessage).where(AlertMessage.inbound_message_id == message.id)
        )
        if covered is not None:
            # Another process covered this message at the same moment: theirs stands.
            return RaiseResult(covered.alert, created=False, joined=False, existing=True)
        if _attempt >= 3:
            raise
        # The random reference was already taken: try again with a new one.
        return raise_for_message(
            session,
            settings,
            inbound_message_id=inbound_message_id,
            source=source,
            role=role,
            assistant_flagged=assistant_flagged,
            now=now,
            _attempt=_attempt + 1,
        )

    if is_paged(alert.severity):
        recently = alert.last_paged_at is not None and now - alert.last_paged_at < timedelta(
            minutes=settings.join_window_minutes
        )
        if created or not was_paged_severity:
            paging.start_paging(session, settings, alert=alert, now=now)
        elif not recently:
            # A further disclosure outside the join window: tell the current level again.
            acknowledged_by = (
                session.get(StaffMember, alert.acknowledged_by_id)
                if alert.acknowledged_by_id
                else None
            )
            if acknowledged_by is not None:
                paging.page(
                    session,
                    settings,
                    alert=alert,
                    staff=acknowledged_by,
                    level=alert.escalation_level,
                    now=now,
                )
            else:
                paging.start_paging(session, settings, alert=alert, now=now)
    session.flush()
    return RaiseResult(alert, created=created, joined=not created, existing=False)


def covered_by(session: Session, *, inbound_message_id: int) -> str | None:
    """Which path covered a message with an alert ("assistant", "gateway"...), or None."""
    return session.scalar(
        select(AlertMessage.source).where(AlertMessage.inbound_message_id == inbound_message_id)
    )


def record_reply(session: Session, *, inbound_message_id: int, reply: str) -> None:
    """Keep what the assistant said in answer to a disclosing message, on its alert."""
    covered = session.scalar(
        select(AlertMessage).where(AlertMessage.inbound_message_id == inbound_message_id)
    )
    if covered is not None and reply:
        alert = covered.alert
        alert.assistant_reply = (
            reply if not alert.assistant_reply else f"{alert.assistant_reply}\n---\n{reply}"
        )


def get(session: Session, *, reference: str) -> Alert:
    """One alert by its reference.

    Raises:
        NotFound: no such alert.
    """
    alert = session.scalar(select(Alert).where(Alert.reference == reference.strip().upper()))
    if alert is None:
        raise NotFound("no alert with that reference")
    return alert


def list_alerts(session: Session, *, status: str | None = None, limit: int = 500) -> list[Alert]:
    """Alerts, newest first."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if status:
        query = query.where(Alert.status == status)
    return list(session.scalars(query).all())


def acknowledge(
    session: Session, *, reference: str, actor: str, staff_member_id: int | None = None
) -> Alert:
    """Acknowledge an alert: escalation stops. Acknowledging twice changes nothing."""
    alert = get(session, reference=reference)
    if alert.status == "open":
        alert.status = "acknowledged"
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = staff_member_id
        alert.next_escalation_at = None
        alert.updated_at = utcnow()
        session.add(AlertEvent(alert_id=alert.id, kind="acknowledged", actor=actor))
    return alert


ACK_PATTERN = re.compile(r"^\s*ack\s+(wm-?[a-z0-9]{5})\s*$", re.IGNORECASE)


def parse_ack(text: str) -> str | None:
    """The reference in an `ACK WM-XXXXX` text, or None."""
    match = ACK_PATTERN.match(text or "")
    if not match:
        return None
    ref = match.group(1).upper()
    return ref if ref.startswith("WM-") else f"WM-{ref[2:]}"


def add_note(session: Session, *, reference: str, actor: str, text: str) -> AlertEvent:
    """Add a note (notes are never edited: a correction is another note)."""
    if not text.strip():
        raise InvalidInput("a note needs some text")
    alert = get(session, reference=reference)
    event = AlertEvent(alert_id=alert.id, kind="note", actor=actor, text=text.strip())
    session.add(event)
    alert.updated_at = utcnow()
    session.flush()
    return event


def unalerted_flagged_messages(
    session: Session, *, older_than: datetime, limit: int = 100
) -> list[int]:
    """Flagged messages not covered by any alert whose turn ended (or is overdue)."""
    covered = select(AlertMessage.inbound_message_id)
    return list(
        session.scalars(
            select(InboundMessage.id)
            .where(
                InboundMessage.contact_id.is_not(None),
                InboundMessage.screen_severity.in_(("concern", "urgent", "emergency")),
                InboundMessage.id.not_in(covered),
                or_(InboundMessage.status != "received", InboundMessage.received_at < older_than),
            )
            .order_by(InboundMessage.id)
            .limit(limit)
        ).all()
    )


def to_dict(alert: Alert, *, full: bool = False) -> dict[str, Any]:
    """An alert as JSON for the staff API and `waymark alerts --json`."""
    data: dict[str, Any] = {
        "reference": alert.reference,
        "kind": alert.kind,
        "severity": alert.severity,
        "categories": alert.categories,
        "status": alert.status,
        "speaker": alert.speaker,
        "source": alert.source,
        "created_at": alert.created_at.isoformat(),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "escalation_level": alert.escalation_level,
        "inbound_message_sids": [m.inbound_message.message_sid for m in alert.messages],
    }
    if full:
        data.update(
            {
                "evidence": alert.evidence,
                "contexts": alert.contexts,
                "confidentiality_notice_shown": alert.confidentiality_notice_shown,
                "assistant_reply": alert.assistant_reply,
                "context_turns": alert.context_turns,
                "details": alert.details,
                "messages": [
                    {
                        "message_sid": m.inbound_message.message_sid,
                        "received_at": m.inbound_message.received_at.isoformat(),
                        "text": m.inbound_message.body,
                        "screen": m.inbound_message.screen,
                    }
                    for m in alert.messages
                ],
                "events": [
                    {"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "text": e.text}
                    for e in alert.events
                ],
                "pages": [
                    {
                        "to": p.staff_member.name,
                        "level": p.level,
                        "status": p.status,
                        "at": p.created_at.isoformat(),
                    }
                    for p in alert.pages
                ],
            }
        )
    return data


def chronology(session: Session, *, contact_id: int) -> list[dict[str, Any]]:
    """Every alert about one person, oldest first: the dated chronology across concerns."""
    rows = session.scalars(
        select(Alert).where(Alert.contact_id == contact_id).order_by(Alert.created_at)
    ).all()
    return [to_dict(a) for a in rows]
