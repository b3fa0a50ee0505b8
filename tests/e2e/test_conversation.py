"""Texting the whole assistant: first contact, role, signposting, a disclosure, a form."""

from __future__ import annotations

from sqlalchemy import select

from tests.e2e.conftest import DUTY, E2E, STAFF_FROM
from waymark import copy
from waymark.models import Alert


def test_first_contact_is_honest_and_replies_reach_twilio(e2e: E2E, phone: str) -> None:
    first = " ".join(e2e.turn("hi", phone=phone))
    assert "999" in first
    assert any(word in first.lower() for word in ("tell", "share", "pass"))
    # An ordinary message raises nothing.
    assert e2e.alerts_for(e2e.last_sid) == []


def test_a_parent_asking_about_a_missing_child_gets_999_and_101(e2e: E2E, phone: str) -> None:
    e2e.turn("hello", phone=phone)
    e2e.turn("im a parent", phone=phone)
    later = " ".join(e2e.turn("what should i do if my daughter goes missing", phone=phone))
    assert "999" in later and "101" in later


def test_a_disclosure_raises_exactly_one_alert_pages_and_answers(e2e: E2E, phone: str) -> None:
    e2e.turn("hey", phone=phone)
    replies = " ".join(e2e.turn("my stepdad keeps hitting me when mum is out", phone=phone))
    sid = e2e.last_sid

    alerts = e2e.wait_for(lambda: e2e.alerts_for(sid))
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.source == "assistant"
    page = e2e.wait_for(lambda: [b for b in e2e.pages_to(DUTY["primary"]) if alert.reference in b])
    assert "stepdad" not in page[0]
    assert "999" in replies and "not your fault" in replies.lower()
    assert all(m["From"] == STAFF_FROM for m in e2e.standin.sent_to(DUTY["primary"]))


def test_a_disclosure_in_the_middle_of_the_concern_form_alerts_and_the_form_resumes(
    e2e: E2E, phone: str
) -> None:
    e2e.turn("hi", phone=phone)
    question = e2e.turn(
        "I want to tell you about something I've noticed with my friend", phone=phone
    )
    replies = e2e.turn("her boyfriend is 25 and he makes her have sex with his mates", phone=phone)
    alerts = e2e.alerts_for(e2e.last_sid)
    assert len(alerts) == 1
    assert "999" in replies[0]
    # The disclosure also answered the form's question, so the form moves on to the next one.
    assert replies[-1] != question[-1]
    follow_up = e2e.turn("skip", phone=phone)
    assert follow_up and follow_up[-1] not in (question[-1], replies[-1])
    with e2e.sessions() as session:
        assert session.scalars(select(Alert).where(Alert.id == alerts[0].id)).one().status == "open"


def test_media_and_empty_messages_get_an_answer(e2e: E2E, phone: str) -> None:
    e2e.text("", phone=phone)
    replies = e2e.replies(phone, count=1)
    assert replies


def test_the_failsafe_copy_is_what_the_domain_says() -> None:
    assert "999" in copy.render("utter_failsafe_alert")


def test_waymark_chat_talks_to_the_assistant_from_a_terminal(e2e: E2E, phone: str) -> None:
    import os
    import subprocess
    import sys

    from waymark.settings import ROOT

    env = {**os.environ, **e2e.base_env}
    out = subprocess.run(
        [sys.executable, "-m", "waymark.cli", "chat", "--number", phone, "--api", e2e.api_url],
        input="hello\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "waymark>" in out.stdout and "999" in out.stdout
