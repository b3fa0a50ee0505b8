"""Typed declarative models. Records about children are never edited in place by staff:
corrections and notes are new `AlertEvent` rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite loses tzinfo, so it is put back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def _public_id() -> str:
    return uuid.uuid4().hex[:16]


class Base(DeclarativeBase):
    """Base of every model."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Contact(Base):
    """A person who texts Waymark. The phone number is only a keyed hash plus ciphertext."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=_public_id)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    last_channel: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(16), default=None)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_shown_at: Mapped[datetime | None] = mapped_column(default=None)
    last_inbound_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def conversation_id(self) -> str:
        """The sender id Rasa knows this contact by (never the phone number)."""
        return f"c-{self.public_id}"


class InboundMessage(Base):
    """Every message received, stored before anything else happens."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # A message is from a contact, or (ACK replies to pages) from a staff member.
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id"), default=None
    )
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    media_types: Mapped[list[Any]] = mapped_column(default=list)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # received -> done | failed (the turn); the screen result is written as soon as it is known.
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    screen: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    screen_severity: Mapped[str | None] = mapped_column(String(16), default=None, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)

    contact: Mapped[Contact | None] = relationship()


class OutboundMessage(Base):
    """A message to send: replies to contacts and pages to staff. The table is the queue."""

    __tablename__ = "outbound_messages"
    __table_args__ = (Index("ix_outbound_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # reply | page | staff_reply
    channel: Mapped[str] = mapped_column(String(16))  # sms | whatsapp | local
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id"), default=None
    )
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id"), default=None
    )
    page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id"), default=None)
    # Messages to one recipient go out in id order; the hash groups them without the number.
    to_hash: Mapped[str] = mapped_column(String(64), index=True)
    to_encrypted: Mapped[str] = mapped_column(Text)
    from_number: Mapped[str] = mapped_column(String(64), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    twilio_sid: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    last_error_code: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class StaffMember(Base):
    """A named worker or manager who can be paged."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16), default="worker")  # worker | manager
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_encrypted: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RotaShift(Base):
    """Who is on duty between two times: a primary, a backup and a manager."""

    __tablename__ = "rota_shifts"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    primary_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), default=None)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    """A safeguarding record: a disclosure (paged or for review) or a concern shared on purpose."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24), default="disclosure")  # | shared_concern
    severity: Mapped[str] = mapped_column(String(16))
    categories: Mapped[list[Any]] = mapped_column(default=list)
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    speaker: Mapped[str] = mapped_column(String(24), default="unknown")
    contexts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    source: Mapped[str] = mapped_column(String(16))  # assistant | gateway | reconcile | concern
    confidentiality_notice_shown: Mapped[bool] = mapped_column(Boolean, default=False)
    assistant_reply: Mapped[str | None] = mapped_column(Text, default=None)
    context_turns: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_paged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    contact: Mapped[Contact] = relationship()
    messages: Mapped[list[AlertMessage]] = relationship(
        back_populates="alert", order_by="AlertMessage.id"
    )
    events: Mapped[list[AlertEvent]] = relationship(order_by="AlertEvent.id")
    pages: Mapped[list[Page]] = relationship(order_by="Page.id")


class AlertMessage(Base):
    """A disclosing message covered by an alert. Unique: one message, exactly one alert."""

    __tablename__ = "alert_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    # Who covered it: "assistant" (the alert action ran and answered), "gateway", "reconcile".
    source: Mapped[str] = mapped_column(String(16), default="assistant")
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    alert: Mapped[Alert] = relationship(back_populates="messages")
    inbound_message: Mapped[InboundMessage] = relationship()


class AlertEvent(Base):
    """Append-only audit trail of an alert: created, paged, escalated, acknowledged, notes."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120), default="system")
    text: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Page(Base):
    """One page of one alert to one staff member at one escalation level."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    staff_member_id: Mapped[int] = mapped_column(ForeignKey("staff_members.id"))
    level: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    staff_member: Mapped[StaffMember] = relationship()
