"""First contact: the session starts with who we are and what we keep (once per person)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from waymark.db import session_scope
from waymark.errors import NotFound
from waymark.models import utcnow
from waymark.services import contacts

log = logging.getLogger(__name__)


class ActionSessionStart(Action):
    """Starts a session, carries slots over, and tells a new person the honest basics."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_session_start"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run the action."""
        events: list[EventType] = [SessionStarted()]
        for key, value in tracker.slots.items():
            if value is not None and key != "session_started_metadata":
                events.append(SlotSet(key, value))
        if not tracker.get_slot("notice_shown"):
            dispatcher.utter_message(response="utter_first_contact")
            events.append(SlotSet("notice_shown", True))
            _mark_notice_shown(tracker.sender_id)
        events.append(ActionExecuted("action_listen"))
        return events


def _mark_notice_shown(conversation_id: str | None) -> None:
    if not conversation_id:
        return
    try:
        with session_scope() as session:
            contact = contacts.by_conversation_id(session, conversation_id)
            contact.notice_shown_at = contact.notice_shown_at or utcnow()
    except NotFound:
        log.info("session start for a conversation that did not come through the gateway")
