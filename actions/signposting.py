"""Signposting: the right services for the topic asked about and the person asking."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from waymark.services.signposting import services_text
from waymark.settings import get_settings

FALLBACK_TOPIC = "topic_danger_now"


class ActionFindServices(Action):
    """Puts the services for the latest topic into `services_list`."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_find_services"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run the action."""
        topic = (tracker.latest_message.get("intent") or {}).get("name") or ""
        role, local = tracker.get_slot("role"), get_settings().local_services_file
        # A topic with nothing listed still gets the always-there services, never a blank.
        text = services_text(topic=topic, role=role, local_file=local) or services_text(
            topic=FALLBACK_TOPIC, role=role, local_file=local
        )
        return [SlotSet("services_list", text)]
