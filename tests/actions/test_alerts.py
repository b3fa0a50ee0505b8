"""action_raise_safeguarding_alert with trackers built inline, on a real database."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.alerts import ActionRaiseSafeguardingAlert
from tests.support.factories import receive_text, seed_team
from waymark.db import session_scope
from waymark.models import Alert, Page
from waymark.settings import get_settings


def _tracker(sender: str, text: str, metadata: dict[str, Any], role: str | None = None) -> Tracker:
    return Tracker(
        sender_id=sender,
        slots={"role": role},
        latest_message={"text": text, "intent": {"name": "disclose_harm"}, "metadata": metadata},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_the_action_raises_one_alert_and_sets_the_reply_slots(app_env: str) -> None:
    settings = get_settings()
    text = "my uncle comes in my room at night and touches me"
    with session_scope() as session:
        seed_team(session, settings)
        message = receive_text(session, settings, text)
        ids = (message.id, message.message_sid, message.contact.conversation_id)  # type: ignore[union-attr]
    tracker = _tracker(
        ids[2], text, {"inbound_message_id": ids[0], "message_sid": ids[1]}, "young_person"
    )

    dispatcher = CollectingDispatcher()
    events = ActionRaiseSafeguardingAlert().run(dispatcher, tracker, {})
    again = ActionRaiseSafeguardingAlert().run(dispatcher, tracker, {})

    slots = _slots(events)  # type: ignore[arg-type]
    assert slots["alert_severity"] in ("urgent", "emergency")
    assert slots["alert_reference"].startswith("WM-")
    assert slots["duty_open"] is True
    assert _slots(again)["alert_reference"] == slots["alert_reference"]  # type: ignore[arg-type]
    assert dispatcher.messages == [], "the reply is a response named by the rule, not Python copy"
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        assert session.scalar(select(func.count()).select_from(Page)) == 1
        alert = session.scalars(select(Alert)).one()
        assert alert.speaker == "young_person"
        assert "sexual_abuse_cse" in alert.categories


def test_the_assistants_own_judgement_makes_a_concern_record(app_env: str) -> None:
    settings = get_settings()
    text = "things at home are not ok"
    with session_scope() as session:
        seed_team(session, settings)
        message = receive_text(session, settings, text)
        ids = (message.id, message.contact.conversation_id)  # type: ignore[union-attr]
    events = ActionRaiseSafeguardingAlert().run(
        CollectingDispatcher(), _tracker(ids[1], text, {"inbound_message_id": ids[0]}), {}
    )
    slots = _slots(events)  # type: ignore[arg-type]
    assert slots["alert_severity"] in ("concern", "urgent", "emergency")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
