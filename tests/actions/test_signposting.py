"""action_find_services, action_check_duty_hours and the concern form's submit."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.concerns import ActionSubmitConcern
from actions.handover import ActionCheckDutyHours
from actions.signposting import ActionFindServices
from tests.support.factories import receive_text, seed_team
from waymark.db import session_scope
from waymark.models import Alert
from waymark.settings import get_settings


def _tracker(intent: str, slots: dict[str, Any], sender: str = "c-unknown") -> Tracker:
    return Tracker(
        sender,
        slots,
        {"text": "x", "intent": {"name": intent}},
        [],
        False,
        None,
        {},
        "action_listen",
    )


def _slots(events: list[Any]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_services_depend_on_topic_and_role(app_env: str) -> None:
    young = _slots(
        ActionFindServices().run(
            CollectingDispatcher(),
            _tracker("topic_sexual_exploitation", {"role": "young_person"}),
            {},
        )
    )
    parent = _slots(
        ActionFindServices().run(
            CollectingDispatcher(), _tracker("parent_missing_child", {"role": "parent"}), {}
        )
    )
    assert "Report Remove" in young["services_list"]
    assert "999" in parent["services_list"] and "116 000" in parent["services_list"]
    assert "Childline" not in parent["services_list"]


def test_duty_hours_slots(app_env: str) -> None:
    slots = _slots(
        ActionCheckDutyHours().run(CollectingDispatcher(), _tracker("ask_for_person", {}), {})
    )
    assert slots["duty_open"] is True
    assert slots["duty_next"]


def test_a_shared_concern_becomes_a_record_even_when_nothing_is_flagged(app_env: str) -> None:
    settings = get_settings()
    with session_scope() as session:
        seed_team(session, settings)
        message = receive_text(session, settings, "I want to tell you about something")
        sender = message.contact.conversation_id  # type: ignore[union-attr]
    answers = {
        "role": "parent",
        "concern_what": "my son has a second phone and new trainers we did not buy",
        "concern_where": "the retail park after school",
        "concern_when": "skip",
        "concern_who": "older lads in a car",
        "concern_worry": "that someone is using him",
    }
    events = ActionSubmitConcern().run(
        CollectingDispatcher(), _tracker("inform", answers, sender), {}
    )
    slots = _slots(events)
    assert slots["alert_reference"].startswith("WM-")
    assert slots["concern_what"] is None
    with session_scope() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.kind == "shared_concern"
        assert alert.speaker == "parent"
        assert alert.severity in ("concern", "urgent", "emergency")
        assert "when" not in alert.details["answers"]
        assert alert.details["answers"]["who"] == "older lads in a car"


def test_a_topic_with_no_listed_services_still_gets_the_always_there_ones(app_env: str) -> None:
    tracker = _tracker("topic_nothing_listed", {"role": "young_person"})
    slots = _slots(ActionFindServices().run(CollectingDispatcher(), tracker, {}))
    assert "999" in slots["services_list"]
