"""A concern shared on purpose becomes a record for the duty worker."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handover import duty_slots
from waymark.db import session_scope
from waymark.errors import InvalidInput, NotFound
from waymark.services import concerns, contacts
from waymark.settings import get_settings

SLOTS = {f"concern_{name}": name for name in concerns.FIELDS}


class ActionSubmitConcern(Action):
    """Stores the concern form's answers as a record and clears the form."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_submit_concern"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run the action."""
        answers = {name: tracker.get_slot(slot) for slot, name in SLOTS.items()}
        events: list[EventType] = [SlotSet(slot, None) for slot in SLOTS]
        try:
            with session_scope() as session:
                contact = contacts.by_conversation_id(session, tracker.sender_id)
                alert = concerns.submit(
                    session,
                    get_settings(),
                    contact=contact,
                    answers=answers,
                    role=tracker.get_slot("role"),
                )
                events.append(SlotSet("alert_reference", alert.reference))
        except (InvalidInput, NotFound):
            pass
        return [*events, *duty_slots()]
