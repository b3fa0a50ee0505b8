"""The safeguarding alert: stored once per disclosing message, paged to the duty worker."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handover import duty_slots
from waymark.db import session_scope
from waymark.services import alerts
from waymark.settings import get_settings

log = logging.getLogger(__name__)


class ActionRaiseSafeguardingAlert(Action):
    """Raises (or joins) the alert for the latest message and sets the slots the reply uses."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_raise_safeguarding_alert"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Run the action."""
        metadata = tracker.latest_message.get("metadata") or {}
        inbound_id = metadata.get("inbound_message_id")
        if not isinstance(inbound_id, int):
            # Only the gateway talks to Rasa in production; without its metadata there is no
            # stored message to attach a record to, so say so loudly and answer honestly.
            log.error("disclosure without gateway metadata in conversation %s", tracker.sender_id)
            return [SlotSet("alert_severity", "urgent"), *duty_slots()]
        with session_scope() as session:
            result = alerts.raise_for_message(
                session,
                get_settings(),
                inbound_message_id=inbound_id,
                source="assistant",
                role=tracker.get_slot("role"),
                assistant_flagged=True,
            )
            severity, reference = result.alert.severity, result.alert.reference
        events: list[EventType] = [
            SlotSet("alert_severity", severity),
            SlotSet("alert_reference", reference),
            *duty_slots(),
        ]
        requested = tracker.get_slot("requested_slot")
        if tracker.active_loop.get("name") and requested:
            # The disclosure was also the answer to the form's question: keep it there too,
            # so the form moves on instead of asking the same question again.
            events.append(SlotSet(requested, tracker.latest_message.get("text")))
        return events
