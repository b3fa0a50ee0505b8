"""The outbound message queue. The `outbound_messages` table is the queue: rows are claimed
with a lease, so a worker that dies mid-send leaves nothing stuck (the lease runs out)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from waymark.crypto import encrypt_phone, phone_hash
from waymark.models import OutboundMessage, utcnow
from waymark.settings import Settings

TWILIO_MAX_BODY = 1600

# Error codes that will never succeed for this recipient (platform-notes.md).
PERMANENT_ERROR_CODES = {21211, 21408, 21610, 21612, 21614, 30005, 30006, 30007, 63016}
OPEN_STATUSES = ("queued", "sending")


def split_message(text: str, limit: int = TWILIO_MAX_BODY) -> list[str]:
    """Split text into parts Twilio accepts, on paragraph, sentence or word boundaries."""
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = max(window.rfind("\n\n"), -1)
        if cut < limit // 2:
            sentence_ends = [m.end() for m in re.finditer(r"[.!?]\s", window)]
            cut = sentence_ends[-1] if sentence_ends and sentence_ends[-1] > limit // 2 else -1
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = limit
        parts.append(text[:cut].strip())
        text = text[cut:].strip()
    parts.append(text)
    return [p for p in parts if p]


def sender_for(settings: Settings, kind: str, channel: str) -> str:
    """Which of our numbers a message goes from: staff pages never share the young people's."""
    if kind in ("page", "staff_reply"):
        return settings.twilio_staff_from
    if channel == "whatsapp":
        number = settings.twilio_whatsapp_from
        return number if not number or number.startswith("whatsapp:") else f"whatsapp:{number}"
    return settings.twilio_sms_from


def enqueue(
    session: Session,
    settings: Settings,
    *,
    kind: str,
    channel: str,
    to_phone: str,
    body: str,
    contact_id: int | None = None,
    staff_member_id: int | None = None,
    in_reply_to_id: int | None = None,
    page_id: int | None = None,
    suppressed: bool = False,
) -> list[OutboundMessage]:
    """Queue a message (split to Twilio's limits) in the caller's transaction.

    Args:
        session: the open session; nothing is committed here.
        settings: settings, for keys and sender numbers.
        kind: "reply", "page" or "staff_reply".
        channel: "sms" or "whatsapp".
        to_phone: the recipient's number (stored only encrypted).
        body: the text.
        contact_id: the contact, for replies.
        staff_member_id: the staff member, for pages.
        in_reply_to_id: the inbound message this answers.
        page_id: the page this message carries.
        suppressed: store but never send (the contact opted out).

    Returns:
        The queued rows, in sending order.
    """
    rows = []
    for part in split_message(body):
        row = OutboundMessage(
            kind=kind,
            channel=channel,
            contact_id=contact_id,
            staff_member_id=staff_member_id,
            in_reply_to_id=in_reply_to_id,
            page_id=page_id,
            to_hash=phone_hash(settings, to_phone),
            to_encrypted=encrypt_phone(settings, to_phone),
            from_number=sender_for(settings, kind, channel),
            body=part,
            status="suppressed" if suppressed else "queued",
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def claim_due(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 10,
    lease: timedelta = timedelta(seconds=60),
) -> list[int]:
    """Claim due messages for sending (commits). Replies to one person go strictly in order."""
    now = now or utcnow()
    earlier = aliased(OutboundMessage)
    blocked = exists().where(
        and_(
            earlier.to_hash == OutboundMessage.to_hash,
            earlier.kind == "reply",
            earlier.id < OutboundMessage.id,
            earlier.status.in_(OPEN_STATUSES),
        )
    )
    candidates = session.scalars(
        select(OutboundMessage.id)
        .where(
            OutboundMessage.status.in_(OPEN_STATUSES),
            OutboundMessage.next_attempt_at <= now,
            or_(OutboundMessage.locked_until.is_(None), OutboundMessage.locked_until < now),
            or_(OutboundMessage.kind != "reply", ~blocked),
        )
        .order_by(OutboundMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id in candidates:
        result = session.execute(
            update(OutboundMessage)
            .where(
                OutboundMessage.id == message_id,
                or_(OutboundMessage.locked_until.is_(None), OutboundMessage.locked_until < now),
            )
            .values(
                status="sending",
                locked_until=now + lease,
                attempts=OutboundMessage.attempts + 1,
            )
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(message_id)
    session.commit()
    return claimed


def backoff(attempts: int, *, cap_seconds: int = 300) -> timedelta:
    """Exponential backoff: 1 s, 2 s, 4 s ... up to the cap."""
    return timedelta(seconds=min(2 ** max(attempts - 1, 0), cap_seconds))


STATUS_RANK = {
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "undelivered": 3,
    "failed": 3,
    "delivered": 4,
    "read": 5,
}


def apply_status_callback(
    session: Session, *, twilio_sid: str, status: str, error_code: int | None
) -> OutboundMessage | None:
    """Record a Twilio status callback; callbacks arrive out of order, so status only advances."""
    row = session.scalar(select(OutboundMessage).where(OutboundMessage.twilio_sid == twilio_sid))
    if row is None:
        return None
    if STATUS_RANK.get(status, -1) > STATUS_RANK.get(row.status, -1):
        row.status = status
        if error_code:
            row.last_error_code = error_code
    return row
