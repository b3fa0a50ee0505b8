"""Contacts: the people who text Waymark, known by a keyed hash of their number."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from waymark.crypto import decrypt_phone, encrypt_phone, phone_hash
from waymark.errors import NotFound
from waymark.models import Contact, StaffMember
from waymark.settings import Settings


def get_or_create(session: Session, settings: Settings, *, phone: str, channel: str) -> Contact:
    """The contact for a number, created on first contact (safe against a concurrent insert)."""
    key = phone_hash(settings, phone)
    contact = session.scalar(select(Contact).where(Contact.phone_hash == key))
    if contact is not None:
        contact.last_channel = channel
        return contact
    try:
        with session.begin_nested():
            contact = Contact(
                phone_hash=key,
                phone_encrypted=encrypt_phone(settings, phone),
                last_channel=channel,
            )
            session.add(contact)
    except IntegrityError:
        contact = session.scalars(select(Contact).where(Contact.phone_hash == key)).one()
    return contact


def by_conversation_id(session: Session, conversation_id: str) -> Contact:
    """The contact Rasa calls `c-<public id>`.

    Raises:
        NotFound: no such contact.
    """
    public_id = conversation_id.removeprefix("c-")
    contact = session.scalar(select(Contact).where(Contact.public_id == public_id))
    if contact is None:
        raise NotFound("no such contact")
    return contact


def phone_of(settings: Settings, contact: Contact) -> str:
    """Decrypt a contact's number, only to send to it."""
    return decrypt_phone(settings, contact.phone_encrypted)


def staff_by_phone(session: Session, settings: Settings, *, phone: str) -> StaffMember | None:
    """The active staff member with this number, if any."""
    return session.scalar(
        select(StaffMember).where(
            StaffMember.phone_hash == phone_hash(settings, phone), StaffMember.active.is_(True)
        )
    )
