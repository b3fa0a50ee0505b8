"""Break things on purpose: every disclosure still ends with exactly one alert and a page."""

from __future__ import annotations

import os
import signal
import time

from tests.e2e.conftest import DUTY, E2E
from tests.support.live import free_port
from tests.support.twilio_standin import Failure
from waymark import copy

DISCLOSURES = [
    "my mums boyfriend hit me with a belt last night",
    "theres these older lads making me hold stuff for them and they say i owe them",
]


def _exactly_one_alert_and_a_page(e2e: E2E, sid: str, *, pages_to: str = DUTY["primary"]) -> None:
    alerts = e2e.wait_for(lambda: e2e.alerts_for(sid), timeout=40)
    time.sleep(0.5)  # let any late duplicate show itself
    alerts = e2e.alerts_for(sid)
    assert len(alerts) == 1, [a.reference for a in alerts]
    reference = alerts[0].reference
    e2e.wait_for(lambda: [b for b in e2e.pages_to(pages_to) if reference in b], timeout=40)


def test_action_server_down(e2e: E2E, phone: str) -> None:
    e2e.core.stop_one("actions")
    try:
        sid = e2e.text(DISCLOSURES[0], phone=phone)
        _exactly_one_alert_and_a_page(e2e, sid)
        replies = " ".join(e2e.replies(phone))
        assert "999" in replies
    finally:
        e2e.core.start_one("actions")
        e2e.core.wait_until(f"{e2e.core.config.action_url}/health", 60, name="actions")


def test_rasa_down(e2e: E2E, phone: str) -> None:
    e2e.restart_api(_rasa_port=str(free_port()), RASA_TIMEOUT_SECONDS="2")
    try:
        sid = e2e.text(DISCLOSURES[1], phone=phone)
        _exactly_one_alert_and_a_page(e2e, sid)
        assert copy.render("utter_failsafe_alert") in e2e.replies(phone)
        # The gateway's turn or its reconciler, whichever came first: never the assistant.
        assert e2e.alerts_for(sid)[0].source in ("gateway", "reconcile")
    finally:
        e2e.restart_api()


def test_rasa_slower_than_the_timeout(e2e: E2E, phone: str) -> None:
    e2e.restart_api(RASA_TIMEOUT_SECONDS="2")
    rasa = e2e.core.processes["rasa"]
    os.killpg(rasa.pid, signal.SIGSTOP)
    try:
        sid = e2e.text(DISCLOSURES[0], phone=phone)
        _exactly_one_alert_and_a_page(e2e, sid)
        assert copy.render("utter_failsafe_alert") in e2e.replies(phone)
    finally:
        os.killpg(rasa.pid, signal.SIGCONT)
    # Rasa wakes up and runs the late turn: its alert action must find the same alert.
    time.sleep(5)
    assert len(e2e.alerts_for(sid)) == 1
    e2e.restart_api()


def test_twilio_500_and_timeouts_for_the_page_are_retried(e2e: E2E, phone: str) -> None:
    e2e.standin.fail(DUTY["primary"], Failure(times=2, status=500))
    e2e.standin.fail(DUTY["primary"], Failure(times=1, status=503, delay=3.0))
    sid = e2e.text(DISCLOSURES[1], phone=phone)
    _exactly_one_alert_and_a_page(e2e, sid)


def test_duty_number_opted_out_escalates_to_the_backup(e2e: E2E, phone: str) -> None:
    e2e.standin.fail(DUTY["primary"], Failure(times=1, status=400, code=21610))
    sid = e2e.text(DISCLOSURES[0], phone=phone)
    alerts = e2e.wait_for(lambda: e2e.alerts_for(sid), timeout=40)
    reference = alerts[0].reference
    e2e.wait_for(lambda: [b for b in e2e.pages_to(DUTY["backup"]) if reference in b], timeout=40)
    assert len(e2e.alerts_for(sid)) == 1


def test_worker_restarted_in_the_middle_of_a_send(e2e: E2E, phone: str) -> None:
    # The page hangs long enough for the API (and its worker) to be killed mid-send.
    def attempts() -> int:
        return sum(1 for a in e2e.standin.attempts if a["To"] == DUTY["primary"])

    before = attempts()
    e2e.standin.fail(DUTY["primary"], Failure(times=1, status=503, delay=4.0))
    sid = e2e.text(DISCLOSURES[1], phone=phone)
    e2e.wait_for(lambda: e2e.alerts_for(sid), timeout=40)
    e2e.wait_for(lambda: attempts() > before, timeout=20)
    e2e.api.stop_one("api", kill=True)
    e2e.restart_api()
    _exactly_one_alert_and_a_page(e2e, sid)
