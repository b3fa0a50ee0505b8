"""Small helpers that build real records through the real services."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from waymark.models import InboundMessage
from waymark.services import conversations, rota
from waymark.settings import Settings

_numbers = itertools.count(100)


def new_phone() -> str:
    """A fresh UK drama-range mobile number."""
    return f"+447700{next(_numbers) % 1000000:06d}"


def new_sid() -> str:
    """A fresh Twilio-shaped MessageSid."""
    return "SM" + uuid.uuid4().hex


def receive_text(
    session: Session,
    settings: Settings,
    text: str,
    *,
    phone: str | None = None,
    channel: str = "sms",
    sid: str | None = None,
) -> InboundMessage:
    """Store an inbound message as the gateway would, and screen it."""
    received = conversations.receive(
        session,
        settings,
        message_sid=sid or new_sid(),
        from_number=phone or new_phone(),
        to_number=settings.twilio_sms_from,
        body=text,
        num_media=0,
        media_types=[],
        channel=channel,
    )
    conversations.screen_stored(session, inbound_message_id=received.message.id)
    return received.message


def seed_team(session: Session, settings: Settings) -> rota.DutyTeam:
    """Three staff and a default duty team."""
    primary = rota.add_staff(session, settings, name="Sam Okafor", phone="+447700900501")
    backup = rota.add_staff(session, settings, name="Priya Shah", phone="+447700900502")
    manager = rota.add_staff(
        session, settings, name="Jo Turner", phone="+447700900503", role="manager"
    )
    from datetime import UTC, datetime

    rota.add_shift(
        session,
        starts_at=datetime(2000, 1, 1, tzinfo=UTC),
        ends_at=datetime(9999, 1, 1, tzinfo=UTC),
        primary_id=primary.id,
        backup_id=backup.id,
        manager_id=manager.id,
    )
    return rota.DutyTeam(primary=primary, backup=backup, manager=manager)


def sign(settings: Settings, path: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a webhook."""
    return RequestValidator(settings.twilio_auth_token).compute_signature(
        settings.public_base_url + path, params
    )


def webhook_params(
    *, body: str, phone: str, settings: Settings, channel: str = "sms", sid: str | None = None
) -> dict[str, str]:
    """Twilio's inbound webhook parameters."""
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "0" * 32,
        "From": f"{prefix}{phone}",
        "To": f"{prefix}{settings.twilio_sms_from}",
        "Body": body,
        "NumMedia": "0",
    }
