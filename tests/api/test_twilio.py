"""The gateway's Twilio webhooks over real HTTP: signatures, duplicates, opt-out, bad input."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from tests.conftest import make_settings
from tests.support.factories import new_phone, sign, webhook_params
from tests.support.live import serve
from waymark.models import Contact, InboundMessage, OutboundMessage
from waymark.services import conversations
from waymark.settings import Settings


@pytest.fixture
def api(sessions: sessionmaker[Session]) -> Iterator[tuple[str, Settings]]:
    settings = make_settings()
    # The worker is not started: these tests look at what the webhook itself does.
    with serve(create_app(settings, sessions, run_worker=False)) as base:
        yield base, settings


def _post(
    base: str,
    settings: Settings,
    path: str,
    params: dict[str, str],
    *,
    signature: str | None = "sign",
) -> httpx.Response:
    headers = {}
    if signature == "sign":
        headers["X-Twilio-Signature"] = sign(settings, path, params)
    elif signature is not None:
        headers["X-Twilio-Signature"] = signature
    return httpx.post(base + path, data=params, headers=headers)


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_a_signed_message_is_stored_and_acknowledged_with_empty_twiml(
    api: tuple[str, Settings], sessions: sessionmaker[Session], channel: str
) -> None:
    base, settings = api
    phone = new_phone()
    params = webhook_params(body="hi", phone=phone, settings=settings, channel=channel)
    response = _post(base, settings, f"/twilio/{channel}", params)
    assert response.status_code == 200
    assert "<Response>" in response.text
    assert response.elapsed.total_seconds() < 1.0
    with sessions() as session:
        message = session.scalars(select(InboundMessage)).one()
        assert message.channel == channel and message.body == "hi"
        assert message.screen_severity == "none"
        contact = session.scalars(select(Contact)).one()
        assert phone not in contact.phone_encrypted and phone.lstrip("+") not in contact.phone_hash


def test_a_forged_signature_is_refused_and_nothing_is_stored(
    api: tuple[str, Settings], sessions: sessionmaker[Session]
) -> None:
    base, settings = api
    params = webhook_params(body="hi", phone=new_phone(), settings=settings)
    forged = _post(base, settings, "/twilio/sms", params, signature="bm90IGEgc2lnbmF0dXJl")
    missing = _post(base, settings, "/twilio/sms", params, signature=None)
    tampered_params = dict(params)
    signature = sign(settings, "/twilio/sms", params)
    tampered_params["Body"] = "something else"
    tampered = _post(base, settings, "/twilio/sms", tampered_params, signature=signature)
    wrong_path = _post(
        base, settings, "/twilio/whatsapp", params, signature=sign(settings, "/twilio/sms", params)
    )
    assert [r.status_code for r in (forged, missing, tampered, wrong_path)] == [403] * 4
    assert _count(sessions) == 0


def test_a_repeated_message_sid_is_acknowledged_once_and_processed_once(
    api: tuple[str, Settings], sessions: sessionmaker[Session]
) -> None:
    base, settings = api
    params = webhook_params(body="hello", phone=new_phone(), settings=settings)
    first = _post(base, settings, "/twilio/sms", params)
    second = _post(base, settings, "/twilio/sms", params)
    assert first.status_code == second.status_code == 200
    assert _count(sessions) == 1


@pytest.mark.parametrize(
    ("params_update", "expected_text"),
    [
        ({"Body": ""}, "/empty_message"),
        (
            {
                "Body": "",
                "NumMedia": "1",
                "MediaUrl0": "https://example.invalid/x",
                "MediaContentType0": "image/jpeg",
            },
            "/media_only",
        ),
        ({"Body": "hi", "SomethingTwilioAddedLater": "x", "NumMedia": "not a number"}, "hi"),
        ({"Body": "/restart"}, "restart"),
    ],
)
def test_odd_but_signed_input_is_stored_and_gets_a_sensible_turn(
    api: tuple[str, Settings],
    sessions: sessionmaker[Session],
    params_update: dict[str, str],
    expected_text: str,
) -> None:
    base, settings = api
    params = {**webhook_params(body="x", phone=new_phone(), settings=settings), **params_update}
    if "Body" in params_update and params_update["Body"] == "" and "NumMedia" not in params_update:
        del params["Body"]  # Twilio may leave it out entirely
    response = _post(base, settings, "/twilio/sms", params)
    assert response.status_code == 200
    with sessions() as session:
        message = session.scalars(select(InboundMessage)).one()
        plan = conversations.plan_turn(session, settings, inbound_message_id=message.id)
        assert plan.action == "rasa"
        assert plan.text == expected_text


def test_missing_required_fields_get_a_clear_400(
    api: tuple[str, Settings], sessions: sessionmaker[Session]
) -> None:
    base, settings = api
    params = webhook_params(body="hi", phone=new_phone(), settings=settings)
    del params["MessageSid"]
    no_sid = _post(base, settings, "/twilio/sms", params)
    params = webhook_params(body="hi", phone="not-a-phone", settings=settings)
    bad_from = _post(base, settings, "/twilio/sms", params)
    assert no_sid.status_code == 400 and "MessageSid" in no_sid.text
    assert bad_from.status_code == 400 and "phone" in bad_from.text
    assert _count(sessions) == 0


def test_a_non_form_body_is_refused_not_a_500(api: tuple[str, Settings]) -> None:
    base, _ = api
    response = httpx.post(
        base + "/twilio/sms",
        content=b"\x00\xff{not a form",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 403


def test_stop_opts_out_and_start_opts_back_in(
    api: tuple[str, Settings], sessions: sessionmaker[Session]
) -> None:
    base, settings = api
    phone = new_phone()
    for body in ("STOP", "START"):
        _post(
            base,
            settings,
            "/twilio/whatsapp",
            webhook_params(body=body, phone=phone, settings=settings, channel="whatsapp"),
        )
        with sessions() as session:
            ids = conversations.claim_turns(session)
            plans = [conversations.plan_turn(session, settings, inbound_message_id=i) for i in ids]
            contact = session.scalars(select(Contact)).one()
            if body == "STOP":
                assert contact.opted_out
                assert plans[0].action == "done"
                confirmation = session.scalars(select(OutboundMessage)).one()
                assert "START" in confirmation.body
            else:
                assert not contact.opted_out
                assert plans[0].text == "/opted_in"


def test_status_callbacks_only_move_forward(
    api: tuple[str, Settings], sessions: sessionmaker[Session]
) -> None:
    from waymark.queue import enqueue

    base, settings = api
    with sessions() as session:
        row = enqueue(
            session, settings, kind="reply", channel="sms", to_phone=new_phone(), body="hi"
        )[0]
        row.status, row.twilio_sid = "sent", "SM" + "1" * 32
        session.commit()
    for state in ("delivered", "sent"):
        params = {"MessageSid": "SM" + "1" * 32, "MessageStatus": state}
        assert _post(base, settings, "/twilio/status", params).status_code == 204
    with sessions() as session:
        assert session.scalars(select(OutboundMessage)).one().status == "delivered"


def test_the_test_phone_is_absent_in_production(sessions: sessionmaker[Session]) -> None:
    settings = make_settings(waymark_env="production")
    with serve(create_app(settings, sessions, run_worker=False)) as base:
        assert httpx.get(f"{base}/dev/phone").status_code == 404
        assert (
            httpx.post(f"{base}/dev/phone/send", json={"number": "+447700900123"}).status_code
            == 404
        )
