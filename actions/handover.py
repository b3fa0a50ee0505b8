"""Handover: honest about when a person can reply."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from waymark.services import handover
from waymark.settings import get_settings


def duty_slots() -> list[EventType]:
    """`duty_open` and `duty_next` for now."""
    settings = get_settings()
    return [
        SlotSet("duty_open", handover.is_open(settings)),
        SlotSet("duty_next", handover.describe_next(settings)),
    ]


class ActionCheckDutyHours(Action):
    """Sets whether someone is on hand now, and when they next are."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_check_duty_hours"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run the action."""
        return duty_slots()
