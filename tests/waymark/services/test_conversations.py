"""Turns the gateway runs itself: keywords and staff acknowledgements by SMS."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.support.factories import new_sid, receive_text, seed_team
from waymark.models import OutboundMessage
from waymark.services import alerts, conversations
from waymark.settings import Settings


def test_a_paged_worker_acknowledges_by_texting_ack_and_the_reference(
    session: Session, settings: Settings
) -> None:
    team = seed_team(session, settings)
    message = receive_text(session, settings, "my stepdad hits me")
    alert = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    ).alert

    ack = conversations.receive(
        session,
        settings,
        message_sid=new_sid(),
        from_number="+447700900501",  # the primary's phone
        to_number=settings.twilio_staff_from,
        body=f"ack {alert.reference.lower()}",
        num_media=0,
        media_types=[],
        channel="sms",
    ).message
    assert ack.staff_member_id == team.primary.id and ack.contact_id is None
    plan = conversations.plan_turn(session, settings, inbound_message_id=ack.id)

    assert plan.action == "done"
    assert alert.status == "acknowledged" and alert.acknowledged_by_id == team.primary.id
    reply = session.scalars(
        select(OutboundMessage).where(OutboundMessage.in_reply_to_id == ack.id)
    ).one()
    assert reply.from_number == settings.twilio_staff_from
    assert alert.reference in reply.body


def test_an_unknown_reference_gets_a_clear_answer(session: Session, settings: Settings) -> None:
    seed_team(session, settings)
    ack = conversations.receive(
        session,
        settings,
        message_sid=new_sid(),
        from_number="+447700900502",
        to_number=settings.twilio_staff_from,
        body="ACK WM-ZZZZZ",
        num_media=0,
        media_types=[],
        channel="sms",
    ).message
    conversations.plan_turn(session, settings, inbound_message_id=ack.id)
    reply = session.scalars(
        select(OutboundMessage).where(OutboundMessage.in_reply_to_id == ack.id)
    ).one()
    assert "no open alert" in reply.body.lower()


def test_a_stranger_texting_ack_is_just_a_person(session: Session, settings: Settings) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, "ACK WM-ZZZZZ")
    assert message.staff_member_id is None and message.contact_id is not None
