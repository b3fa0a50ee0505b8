"""Alerts: exactly one per disclosing message, paged to a named worker, escalated until
acknowledged, with a record a duty worker can use."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.factories import new_phone, receive_text, seed_team
from waymark.errors import InvalidInput
from waymark.models import Alert, AlertMessage, OutboundMessage, Page, utcnow
from waymark.services import alerts, paging
from waymark.settings import Settings

URGENT = "my stepdad hits me when mum is at work"
EMERGENCY = "im going to kill myself tonight i have the pills"
HARMLESS = "what time does the youth club open on saturday"


def _pages(session: Session, alert: Alert) -> list[OutboundMessage]:
    return list(
        session.scalars(
            select(OutboundMessage)
            .join(Page, OutboundMessage.page_id == Page.id)
            .where(Page.alert_id == alert.id)
            .order_by(OutboundMessage.id)
        ).all()
    )


def test_a_disclosure_raises_one_alert_and_pages_the_duty_worker(
    session: Session, settings: Settings
) -> None:
    team = seed_team(session, settings)
    message = receive_text(session, settings, URGENT)

    result = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    )

    assert result.created
    alert = result.alert
    assert alert.severity in ("urgent", "emergency")
    assert "physical_abuse" in alert.categories
    assert alert.evidence, "the duty worker must see why"
    assert [m.inbound_message_id for m in alert.messages] == [message.id]
    pages = _pages(session, alert)
    assert len(pages) == 1
    assert pages[0].staff_member_id == team.primary.id
    assert pages[0].from_number == settings.twilio_staff_from
    assert alert.next_escalation_at is not None


def test_raising_again_for_the_same_message_changes_nothing(
    session: Session, settings: Settings
) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, URGENT)
    first = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    )
    again = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="gateway"
    )
    third = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="reconcile"
    )

    assert again.existing and third.existing
    assert again.alert.id == first.alert.id == third.alert.id
    assert session.scalar(select(func.count()).select_from(Alert)) == 1
    assert len(_pages(session, first.alert)) == 1


def test_the_page_carries_reference_severity_and_category_never_the_words(
    session: Session, settings: Settings
) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, URGENT)
    alert = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    ).alert
    body = _pages(session, alert)[0].body

    assert alert.reference in body
    assert alert.severity in body
    assert "stepdad" not in body and "hits" not in body
    assert len(body) <= 160
    assert all(ord(ch) < 128 for ch in body)


def test_further_disclosures_join_the_open_alert_without_paging_again(
    session: Session, settings: Settings
) -> None:
    seed_team(session, settings)
    phone = new_phone()
    first = receive_text(session, settings, URGENT, phone=phone)
    second = receive_text(session, settings, "he said he will hurt me again if i tell", phone=phone)
    a = alerts.raise_for_message(session, settings, inbound_message_id=first.id, source="assistant")
    b = alerts.raise_for_message(
        session, settings, inbound_message_id=second.id, source="assistant"
    )

    assert b.joined and b.alert.id == a.alert.id
    assert sorted(m.inbound_message_id for m in a.alert.messages) == [first.id, second.id]
    assert len(_pages(session, a.alert)) == 1


def test_a_concern_is_recorded_but_not_paged(session: Session, settings: Settings) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, HARMLESS)
    with pytest.raises(InvalidInput):
        alerts.raise_for_message(session, settings, inbound_message_id=message.id, source="gateway")

    flagged = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant", assistant_flagged=True
    )
    assert flagged.alert.severity == "concern"
    assert _pages(session, flagged.alert) == []


def test_unacknowledged_alerts_escalate_to_backup_then_manager(session: Session) -> None:
    # The ladder is what is tested here, whatever severity the screen gives this message.
    settings = make_settings(escalation_emergency_minutes="5,10", escalation_urgent_minutes="5,10")
    team = seed_team(session, settings)
    message = receive_text(session, settings, EMERGENCY)
    alert = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    ).alert
    assert alert.severity in ("urgent", "emergency")
    start = alert.created_at

    paging.escalate_due(session, settings, now=start + timedelta(minutes=4))
    assert len(_pages(session, alert)) == 1
    paging.escalate_due(session, settings, now=start + timedelta(minutes=5, seconds=1))
    paging.escalate_due(session, settings, now=start + timedelta(minutes=10, seconds=2))
    paging.escalate_due(session, settings, now=start + timedelta(minutes=15, seconds=3))

    recipients = [p.staff_member_id for p in _pages(session, alert)]
    assert recipients == [team.primary.id, team.backup.id, team.manager.id, team.primary.id]  # type: ignore[union-attr]
    assert (
        "not" in _pages(session, alert)[1].body.lower()
        or alert.reference in _pages(session, alert)[1].body
    )


def test_acknowledging_stops_escalation(session: Session, settings: Settings) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, EMERGENCY)
    alert = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    ).alert
    alerts.acknowledge(session, reference=alert.reference.lower(), actor="test")

    paging.escalate_due(session, settings, now=utcnow() + timedelta(hours=1))
    assert alert.status == "acknowledged"
    assert len(_pages(session, alert)) == 1


def test_reconcile_finds_flagged_messages_without_alerts(
    session: Session, settings: Settings
) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, URGENT)
    message.status = "failed"
    found = alerts.unalerted_flagged_messages(session, older_than=utcnow())
    assert message.id in found
    alerts.raise_for_message(session, settings, inbound_message_id=message.id, source="reconcile")
    assert message.id not in alerts.unalerted_flagged_messages(session, older_than=utcnow())
    assert session.scalar(select(func.count()).select_from(AlertMessage)) == 1


def test_ack_texts_are_parsed() -> None:
    assert alerts.parse_ack("ACK WM-7K3PQ") == "WM-7K3PQ"
    assert alerts.parse_ack("  ack wm-7k3pq ") == "WM-7K3PQ"
    assert alerts.parse_ack("ack") is None
    assert alerts.parse_ack("I'm going to be late") is None


def test_notes_are_kept_and_empty_notes_refused(session: Session, settings: Settings) -> None:
    seed_team(session, settings)
    message = receive_text(session, settings, URGENT)
    alert = alerts.raise_for_message(
        session, settings, inbound_message_id=message.id, source="assistant"
    ).alert
    alerts.add_note(session, reference=alert.reference, actor="Sam", text="Called school DSL.")
    with pytest.raises(InvalidInput):
        alerts.add_note(session, reference=alert.reference, actor="Sam", text="   ")
    data = alerts.to_dict(alert, full=True)
    assert any(e["kind"] == "note" and e["text"] == "Called school DSL." for e in data["events"])
    assert data["messages"][0]["text"] == URGENT
    assert data["inbound_message_sids"] == [message.message_sid]


def test_concern_records_go_to_the_duty_worker_in_a_digest_next_working_day(
    session: Session,
) -> None:
    from datetime import UTC, datetime

    settings = make_settings(duty_hours="mon-fri 09:00-17:00")
    team = seed_team(session, settings)
    message = receive_text(session, settings, HARMLESS)
    friday_evening = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)
    alert = alerts.raise_for_message(
        session,
        settings,
        inbound_message_id=message.id,
        source="assistant",
        assistant_flagged=True,
        now=friday_evening,
    ).alert
    assert alert.severity == "concern"

    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    monday_morning = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert paging.send_concern_digest(session, settings, now=saturday) == 0
    assert paging.send_concern_digest(session, settings, now=monday_morning) == 1
    assert paging.send_concern_digest(session, settings, now=monday_morning) == 0
    digest = session.scalars(
        select(OutboundMessage).where(OutboundMessage.staff_member_id == team.primary.id)
    ).all()[-1]
    assert alert.reference in digest.body and len(digest.body) <= 160
    assert HARMLESS not in digest.body


def test_a_reference_collision_is_retried_not_lost(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_team(session, settings)
    first = receive_text(session, settings, URGENT)
    taken = alerts.raise_for_message(
        session, settings, inbound_message_id=first.id, source="assistant"
    ).alert.reference
    references = iter([taken, "WM-NEW22"])
    monkeypatch.setattr(alerts, "new_reference", lambda: next(references))
    second = receive_text(session, settings, URGENT)  # another person: a new alert

    result = alerts.raise_for_message(
        session, settings, inbound_message_id=second.id, source="assistant"
    )
    assert result.created and result.alert.reference == "WM-NEW22"
