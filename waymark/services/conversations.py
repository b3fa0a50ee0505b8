"""The gateway's conversations: store every inbound message first, then run its turn."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from waymark import copy
from waymark.crypto import decrypt_phone, normalise_phone, phone_hash
from waymark.errors import InvalidInput
from waymark.models import Contact, InboundMessage, OutboundMessage, StaffMember, utcnow
from waymark.queue import enqueue
from waymark.screen import screen
from waymark.screen.severity import is_paged
from waymark.services import alerts, contacts
from waymark.settings import Settings

log = logging.getLogger(__name__)

OPT_OUT = {"stop", "unsubscribe", "end", "quit", "stopall", "revoke", "optout", "cancel"}
OPT_IN = {"start", "yes", "unstop"}
HELP = {"help"}


@dataclass(frozen=True)
class Received:
    """The stored inbound message and whether this delivery was the first."""

    message: InboundMessage
    first_delivery: bool


def receive(
    session: Session,
    settings: Settings,
    *,
    message_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    num_media: int,
    media_types: list[str],
    channel: str,
) -> Received:
    """Store an inbound message (insert-or-ignore on MessageSid) and commit.

    Raises:
        InvalidInput: no MessageSid, or a From that is not a phone number.
    """
    if not message_sid.strip():
        raise InvalidInput("MessageSid is missing")
    phone = normalise_phone(from_number)
    existing = session.scalar(
        select(InboundMessage).where(InboundMessage.message_sid == message_sid)
    )
    if existing is not None:
        return Received(existing, first_delivery=False)
    staff = contacts.staff_by_phone(session, settings, phone=phone)
    is_staff = staff is not None and (
        to_number.strip() == settings.twilio_staff_from or alerts.parse_ack(body) is not None
    )
    contact = (
        None
        if is_staff
        else contacts.get_or_create(session, settings, phone=phone, channel=channel)
    )
    message = InboundMessage(
        message_sid=message_sid,
        contact_id=contact.id if contact else None,
        staff_member_id=staff.id if is_staff and staff else None,
        channel=channel,
        body=body,
        num_media=num_media,
        media_types=media_types,
    )
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        existing = session.scalars(
            select(InboundMessage).where(InboundMessage.message_sid == message_sid)
        ).one()
        return Received(existing, first_delivery=False)
    if contact is not None:
        contact.last_inbound_at = message.received_at
    session.commit()
    return Received(message, first_delivery=True)


def screen_stored(session: Session, *, inbound_message_id: int) -> dict[str, Any] | None:
    """Screen a stored message and commit the result (staff messages are not screened)."""
    message = session.get_one(InboundMessage, inbound_message_id)
    if message.contact_id is None:
        return None
    result = alerts.screen_message(session, message)
    session.commit()
    return result


def claim_turns(
    session: Session,
    *,
    now: datetime | None = None,
    limit: int = 8,
    lease: timedelta = timedelta(seconds=60),
) -> list[int]:
    """Claim the next message of each person whose turn can run (commits). One person's
    messages run strictly one after another."""
    now = now or utcnow()
    earlier = aliased(InboundMessage)
    waiting_behind = exists().where(
        and_(
            earlier.contact_id == InboundMessage.contact_id,
            earlier.status == "received",
            earlier.id < InboundMessage.id,
        )
    )
    candidates = session.scalars(
        select(InboundMessage.id)
        .where(
            InboundMessage.status == "received",
            or_(InboundMessage.locked_until.is_(None), InboundMessage.locked_until < now),
            or_(InboundMessage.contact_id.is_(None), ~waiting_behind),
        )
        .order_by(InboundMessage.id)
        .limit(limit)
    ).all()
    claimed = []
    for message_id in candidates:
        result = session.execute(
            update(InboundMessage)
            .where(
                InboundMessage.id == message_id,
                InboundMessage.status == "received",
                or_(InboundMessage.locked_until.is_(None), InboundMessage.locked_until < now),
            )
            .values(locked_until=now + lease, attempts=InboundMessage.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(message_id)
    session.commit()
    return claimed


@dataclass
class TurnPlan:
    """What the worker does with a claimed message."""

    inbound_message_id: int
    action: str  # "rasa" | "done"
    sender: str = ""
    text: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    flagged: bool = False
    paged: bool = False


def _rasa_text(message: InboundMessage) -> str:
    text = (message.body or "").strip()
    if not text:
        return "/media_only" if message.num_media else "/empty_message"
    # A leading slash would let anyone inject intents into Rasa.
    return text.lstrip("/").strip() or "/empty_message"


def plan_turn(session: Session, settings: Settings, *, inbound_message_id: int) -> TurnPlan:
    """Decide a claimed message's turn: keywords and staff ACKs here, everything else to Rasa.
    Commits whatever it decided."""
    message = session.get_one(InboundMessage, inbound_message_id)
    if message.staff_member_id is not None:
        _handle_staff_message(session, settings, message)
        session.commit()
        return TurnPlan(message.id, "done")
    contact = session.get_one(Contact, message.contact_id)
    result = alerts.screen_message(session, message)
    plan = TurnPlan(
        message.id,
        "rasa",
        sender=contact.conversation_id,
        text=_rasa_text(message),
        metadata={
            "inbound_message_id": message.id,
            "message_sid": message.message_sid,
            "channel": message.channel,
            # The Rasa component uses the gateway's screen result, so both agree on a message.
            "screen": result,
        },
        flagged=result["severity"] != "none",
        paged=is_paged(result["severity"]),
    )
    keyword = (message.body or "").strip().lower()
    if keyword in OPT_OUT:
        contact.opted_out = True
        if message.channel == "whatsapp":
            # Twilio confirms SMS opt-outs itself; on WhatsApp it is ours to say.
            _reply(session, settings, contact, message, copy.render("utter_opted_out"), force=True)
        finish(session, inbound_message_id=message.id, outcome="opted_out")
        plan.action = "done"
    elif keyword in OPT_IN and contact.opted_out:
        contact.opted_out = False
        plan.text = "/opted_in"
    elif keyword in HELP:
        plan.text = "/help_menu"
    session.commit()
    return plan


def _reply(
    session: Session,
    settings: Settings,
    contact: Contact,
    message: InboundMessage,
    text: str,
    *,
    force: bool = False,
) -> None:
    enqueue(
        session,
        settings,
        kind="reply",
        channel=message.channel,
        to_phone=contacts.phone_of(settings, contact),
        body=text,
        contact_id=contact.id,
        in_reply_to_id=message.id,
        suppressed=contact.opted_out and not force,
    )


def _handle_staff_message(session: Session, settings: Settings, message: InboundMessage) -> None:
    staff = session.get_one(StaffMember, message.staff_member_id)
    reference = alerts.parse_ack(message.body)
    text: str
    if reference is None:
        text = copy.render("utter_staff_ack_unknown", reference=message.body.strip()[:12])
    else:
        try:
            alerts.acknowledge(
                session, reference=reference, actor=f"{staff.name} (SMS)", staff_member_id=staff.id
            )
            text = copy.render("utter_staff_ack_confirmed", reference=reference)
        except alerts.NotFound:
            text = copy.render("utter_staff_ack_unknown", reference=reference)
    enqueue(
        session,
        settings,
        kind="staff_reply",
        channel="sms",
        to_phone=decrypt_phone(settings, staff.phone_encrypted),
        body=text,
        staff_member_id=staff.id,
        in_reply_to_id=message.id,
    )
    finish(session, inbound_message_id=message.id, outcome="staff_ack")


def finish(session: Session, *, inbound_message_id: int, outcome: str) -> None:
    """Mark a turn finished (the caller commits)."""
    message = session.get_one(InboundMessage, inbound_message_id)
    message.status = "failed" if outcome.startswith("rasa_") else "done"
    message.outcome = outcome
    message.processed_at = utcnow()
    message.locked_until = None


def complete_turn(
    session: Session,
    settings: Settings,
    *,
    plan: TurnPlan,
    replies: list[dict[str, Any]] | None,
) -> None:
    """Queue Rasa's replies in order, or the fail-safe reply when Rasa failed; make sure a
    disclosing message is covered by an alert either way. Commits."""
    message = session.get_one(InboundMessage, plan.inbound_message_id)
    contact = session.get_one(Contact, message.contact_id)
    texts = [str(r["text"]) for r in (replies or []) if isinstance(r, dict) and r.get("text")]
    if plan.flagged:
        alerts.raise_for_message(session, settings, inbound_message_id=message.id, source="gateway")
    if replies is None:
        key = "utter_failsafe_alert" if plan.flagged else "utter_service_unavailable"
        texts = [copy.render(key)]
    elif plan.paged and alerts.covered_by(session, inbound_message_id=message.id) != "assistant":
        # Rasa answered but its alert action did not run (the action server is down): the
        # person must still hear that someone is being told.
        texts.append(copy.render("utter_failsafe_alert"))
    for text in texts:
        _reply(session, settings, contact, message, text)
    if plan.flagged:
        alerts.record_reply(session, inbound_message_id=message.id, reply="\n".join(texts))
    finish(
        session,
        inbound_message_id=message.id,
        outcome="rasa_failed" if replies is None else "replied",
    )
    session.commit()


def reconcile(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    """Every flagged message ends with exactly one alert: cover any the turns missed (commits)."""
    now = now or utcnow()
    unscreened = session.execute(
        select(InboundMessage.id, InboundMessage.body)
        .where(InboundMessage.screen.is_(None), InboundMessage.contact_id.is_not(None))
        .limit(100)
    ).all()
    # Screening takes milliseconds a message, and on SQLite every transaction holds the write
    # lock: screen with no transaction open, then store each result in a short one, so a backlog
    # never keeps the webhook from storing the next inbound message.
    session.commit()
    for message_id, body in unscreened:
        result = screen(body or "").to_dict()
        alerts.screen_message(session, session.get_one(InboundMessage, message_id), result=result)
        session.commit()
    count = 0
    cutoff = now - timedelta(seconds=settings.reconcile_after_seconds)
    for message_id in alerts.unalerted_flagged_messages(session, older_than=cutoff):
        alerts.raise_for_message(
            session, settings, inbound_message_id=message_id, source="reconcile"
        )
        session.commit()
        count += 1
    return count


def thread_for_phone(session: Session, settings: Settings, *, phone: str) -> list[dict[str, Any]]:
    """A contact's conversation, both directions, oldest first (for the development phone)."""
    key = phone_hash(settings, phone)
    contact = session.scalar(select(Contact).where(Contact.phone_hash == key))
    if contact is None:
        return []
    inbound = session.scalars(
        select(InboundMessage).where(InboundMessage.contact_id == contact.id)
    ).all()
    outbound = session.scalars(
        select(OutboundMessage).where(
            OutboundMessage.contact_id == contact.id, OutboundMessage.kind == "reply"
        )
    ).all()
    items = [
        {"id": f"in-{m.id}", "from": "you", "text": m.body, "at": m.received_at.isoformat()}
        for m in inbound
    ] + [
        {
            "id": f"out-{m.id}",
            "from": "waymark",
            "text": m.body,
            "status": m.status,
            "at": m.created_at.isoformat(),
        }
        for m in outbound
    ]
    return sorted(items, key=lambda item: (item["at"], item["id"]))
