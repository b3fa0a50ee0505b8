"""The background worker: runs turns through Rasa, sends the outbound queue, escalates pages
and reconciles. Every step reads its work from the database, so a restart loses nothing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from waymark.crypto import decrypt_phone
from waymark.models import OutboundMessage, utcnow
from waymark.queue import PERMANENT_ERROR_CODES, backoff, claim_due
from waymark.rasa import RasaUnavailable, send_message
from waymark.services import conversations, paging
from waymark.settings import Settings
from waymark.transport import SendResult, Transport, make_transport

log = logging.getLogger(__name__)


class _Doorbell:
    """Wakes one idle thread per ring; rings are not lost while every thread is busy."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    def ring(self, times: int = 1) -> None:
        with self._cond:
            self._rings = min(self._rings + times, 64)
            self._cond.notify(times)

    def wait(self, timeout: float) -> None:
        with self._cond:
            if not self._rings:
                self._cond.wait(timeout)
            if self._rings:
                self._rings -= 1


class Worker:
    """Runs the background loops in threads (or step by step, in tests)."""

    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        *,
        transport: Transport | None = None,
        turn_threads: int = 8,
        send_threads: int = 2,
    ) -> None:
        self.settings = settings
        self.sessions = session_factory
        self.transport = transport or make_transport(settings)
        self.turn_threads = turn_threads
        self.send_threads = send_threads
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        # Idle threads wait on a doorbell, so new work in this process starts at once and the
        # database is polled only now and then (for work stored by the action server).
        self._bells = {"turn": _Doorbell(), "send": _Doorbell()}

    # --- one step of each loop; each returns how much work it did -------------------------

    def run_one_turn(self) -> int:
        """Claim one message and run its turn."""
        with self.sessions() as session:
            claimed = conversations.claim_turns(
                session, limit=1, lease=timedelta(seconds=self.settings.turn_lease_seconds)
            )
        if not claimed:
            return 0
        message_id = claimed[0]
        with self.sessions() as session:
            plan = conversations.plan_turn(session, self.settings, inbound_message_id=message_id)
        if plan.action != "rasa":
            return 1
        replies = None
        try:
            replies = send_message(
                self.settings, sender=plan.sender, text=plan.text, metadata=plan.metadata
            )
        except RasaUnavailable as exc:
            log.warning("turn for message %s: Rasa unavailable (%s)", message_id, exc)
        with self.sessions() as session:
            conversations.complete_turn(session, self.settings, plan=plan, replies=replies)
        return 1

    def send_due(self, limit: int = 5) -> int:
        """Send due outbound messages."""
        with self.sessions() as session:
            claimed = claim_due(
                session, limit=limit, lease=timedelta(seconds=self.settings.send_lease_seconds)
            )
        for message_id in claimed:
            self._send(message_id)
        return len(claimed)

    def housekeeping(self) -> int:
        """Escalate unacknowledged alerts and reconcile flagged messages with alerts."""
        with self.sessions() as session:
            escalated = paging.escalate_due(session, self.settings)
            escalated += paging.send_concern_digest(session, self.settings)
            session.commit()
        with self.sessions() as session:
            reconciled = conversations.reconcile(session, self.settings)
        return escalated + reconciled

    def _send(self, message_id: int) -> None:
        with self.sessions() as session:
            message = session.get_one(OutboundMessage, message_id)
            to = decrypt_phone(self.settings, message.to_encrypted)
            if message.channel == "whatsapp" and not to.startswith("whatsapp:"):
                to = f"whatsapp:{to}"
            from_, body = message.from_number, message.body
        callback = f"{self.settings.public_base_url}/twilio/status"
        try:
            result = self.transport.send(to=to, from_=from_, body=body, status_callback=callback)
        except Exception as exc:  # a transport bug must not kill the loop or lose the message
            log.exception("send %s raised", message_id)
            result = SendResult(ok=False, error=type(exc).__name__, retryable=True)
        with self.sessions() as session:
            message = session.get_one(OutboundMessage, message_id)
            message.locked_until = None
            if result.ok:
                message.status = "sent"
                message.twilio_sid = result.sid
                message.sent_at = utcnow()
                paging.on_send_result(session, message=message, delivered=True, permanent=False)
            else:
                message.last_error_code = result.error_code
                message.last_error = result.error
                permanent = not result.retryable or result.error_code in PERMANENT_ERROR_CODES
                # Pages are retried until delivered; replies give up after a while.
                give_up = permanent or (
                    message.kind != "page" and message.attempts >= self.settings.send_max_attempts
                )
                if give_up:
                    message.status = "failed"
                else:
                    message.status = "queued"
                    message.next_attempt_at = utcnow() + backoff(
                        message.attempts, cap_seconds=60 if message.kind == "page" else 300
                    )
                log.warning(
                    "send %s (%s) failed: %s %s%s",
                    message_id,
                    message.kind,
                    result.error_code,
                    result.error,
                    "" if not give_up else " (giving up)",
                )
                paging.on_send_result(
                    session, message=message, delivered=False, permanent=permanent
                )
            session.commit()

    # --- threads ---------------------------------------------------------------------------

    def wake(self) -> None:
        """A message was stored in this process: a turn thread should run now, not at its poll."""
        self._bells["turn"].ring()

    def _loop(self, name: str, step: Callable[[], int], idle: float) -> None:
        bell = self._bells.get(name)
        while not self._stop.is_set():
            try:
                did = step()
            except Exception:
                log.exception("worker loop %s failed; carrying on", name)
                did = 0
            if did:
                if name == "turn":
                    # Send this turn's replies (and any pages) from this thread: handing them to
                    # a sender thread measured ~15 ms slower. The senders still poll as a backstop.
                    self.send_due()
                continue
            if bell is not None:
                bell.wait(idle)
            else:
                self._stop.wait(idle)

    def start(self) -> None:
        """Start the loops in daemon threads."""
        poll = self.settings.worker_poll_seconds
        loops: list[tuple[str, Callable[[], int], float]] = [
            *[("turn", self.run_one_turn, poll)] * self.turn_threads,
            *[("send", self.send_due, poll)] * self.send_threads,
            ("housekeeping", self.housekeeping, max(poll * 5, 1.0)),
        ]
        for index, (name, step, idle) in enumerate(loops):
            thread = threading.Thread(
                target=self._loop,
                args=(name, step, idle),
                name=f"waymark-{name}-{index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the loops to stop and wait for them."""
        self._stop.set()
        for bell in self._bells.values():
            bell.ring(len(self._threads) + 1)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0.1))
        self._threads.clear()
