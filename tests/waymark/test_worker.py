"""The worker with the real twilio client against a loopback stand-in, and Rasa unreachable:
the fail-safe path. (Turns through a real Rasa are in tests/e2e.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import make_settings
from tests.support.factories import new_phone, receive_text, seed_team
from tests.support.twilio_standin import Failure, StandIn, start_standin, stop_standin
from waymark import copy
from waymark.models import Alert, OutboundMessage, Page, utcnow
from waymark.queue import claim_due
from waymark.settings import Settings
from waymark.worker import Worker

DISCLOSURE = "my stepdad hits me when mum is at work"
DUTY_PRIMARY = "+447700900501"
DUTY_BACKUP = "+447700900502"


@pytest.fixture
def standin() -> Iterator[StandIn]:
    state = start_standin()
    yield state
    stop_standin(state)


@pytest.fixture
def wsettings(standin: StandIn) -> Settings:
    return make_settings(
        twilio_account_sid=standin.account_sid,
        twilio_auth_token=standin.auth_token,
        twilio_api_base_url=standin.base_url,
        twilio_timeout_seconds=1.0,
        rasa_url="http://127.0.0.1:9",
        rasa_timeout_seconds=0.5,
    )


def _setup(sessions: sessionmaker[Session], settings: Settings, text: str, phone: str) -> int:
    with sessions() as session:
        seed_team(session, settings)
        session.commit()
        message = receive_text(session, settings, text, phone=phone)
        return message.id


def _run_until(worker: Worker, done: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        worker.run_one_turn()
        worker.send_due()
        worker.housekeeping()
        if done():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def test_rasa_down_disclosure_still_alerts_pages_and_answers_safely(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    phone = new_phone()
    _setup(sessions, wsettings, DISCLOSURE, phone)
    worker = Worker(wsettings, sessions)

    _run_until(worker, lambda: standin.sent_to(DUTY_PRIMARY) and standin.sent_to(phone))

    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        alert = session.scalars(select(Alert)).one()
        assert alert.source == "gateway"
    page = standin.sent_to(DUTY_PRIMARY)[0]
    assert page["From"] == wsettings.twilio_staff_from
    assert alert.reference in page["Body"] and "stepdad" not in page["Body"]
    reply = standin.sent_to(phone)[0]
    assert reply["Body"] == copy.render("utter_failsafe_alert")
    assert "999" in reply["Body"]


def test_rasa_down_without_disclosure_says_sorry_and_signposts(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    phone = new_phone()
    _setup(sessions, wsettings, "hi what do you do", phone)
    worker = Worker(wsettings, sessions)
    _run_until(worker, lambda: standin.sent_to(phone))
    assert standin.sent_to(phone)[0]["Body"] == copy.render("utter_service_unavailable")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_a_page_is_retried_after_500_and_timeouts_until_delivered(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    standin.fail(DUTY_PRIMARY, Failure(times=1, status=500))
    standin.fail(DUTY_PRIMARY, Failure(times=1, status=503, delay=2.0))  # slower than the timeout
    standin.fail(DUTY_PRIMARY, Failure(times=1, status=429, code=20429))
    _setup(sessions, wsettings, DISCLOSURE, new_phone())
    worker = Worker(wsettings, sessions)

    _run_until(worker, lambda: standin.sent_to(DUTY_PRIMARY), timeout=30)

    assert len([a for a in standin.attempts if a["To"] == DUTY_PRIMARY]) >= 4
    with sessions() as session:
        page_messages = session.scalars(
            select(OutboundMessage).where(OutboundMessage.kind == "page")
        ).all()
        assert [m.status for m in page_messages] == ["sent"]
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_an_opted_out_duty_number_escalates_at_once(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    standin.fail(DUTY_PRIMARY, Failure(times=5, status=400, code=21610))
    _setup(sessions, wsettings, DISCLOSURE, new_phone())
    worker = Worker(wsettings, sessions)

    _run_until(worker, lambda: standin.sent_to(DUTY_BACKUP), timeout=20)

    with sessions() as session:
        pages = session.scalars(select(Page).order_by(Page.id)).all()
        assert [p.level for p in pages][:2] == [0, 1]
        assert pages[0].status == "failed"
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_a_send_interrupted_by_a_worker_crash_is_sent_after_the_lease(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    _setup(sessions, wsettings, DISCLOSURE, new_phone())
    crashed = Worker(wsettings, sessions)
    crashed.run_one_turn()  # the alert and its page are queued
    with sessions() as session:
        # The crashed worker claimed the page and died before sending; then its lease ran out.
        claimed = claim_due(session)
        assert claimed
        page = session.get_one(OutboundMessage, claimed[0])
        assert page.status == "sending"
        page.locked_until = utcnow() - timedelta(seconds=1)
        session.commit()

    restarted = Worker(wsettings, sessions)
    _run_until(restarted, lambda: standin.sent_to(DUTY_PRIMARY))
    assert len(standin.sent_to(DUTY_PRIMARY)) == 1


def test_replies_to_one_person_go_out_in_order(
    sessions: sessionmaker[Session], wsettings: Settings, standin: StandIn
) -> None:
    from waymark.queue import enqueue

    phone = new_phone()
    standin.fail(phone, Failure(times=1, status=503))
    with sessions() as session:
        for n in range(3):
            enqueue(
                session, wsettings, kind="reply", channel="sms", to_phone=phone, body=f"part {n}"
            )
        session.commit()
    worker = Worker(wsettings, sessions)
    _run_until(worker, lambda: len(standin.sent_to(phone)) == 3, timeout=15)
    assert [m["Body"] for m in standin.sent_to(phone)] == ["part 0", "part 1", "part 2"]
