"""The staff API over real HTTP: token required; list, one alert with chronology, ack, notes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from tests.conftest import make_settings
from tests.support.factories import new_phone, receive_text, seed_team
from tests.support.live import serve
from waymark.services import alerts

AUTH = {"Authorization": "Bearer staff-token"}


@pytest.fixture
def staff_api(sessions: sessionmaker[Session]) -> Iterator[tuple[str, str, str]]:
    settings = make_settings()
    phone = new_phone()
    with sessions() as session:
        seed_team(session, settings)
        message = receive_text(session, settings, "my stepdad hits me", phone=phone)
        alert = alerts.raise_for_message(
            session, settings, inbound_message_id=message.id, source="assistant"
        ).alert
        reference, sid = alert.reference, message.message_sid
        session.commit()
    with serve(create_app(settings, sessions, run_worker=False)) as base:
        yield base, reference, sid


def test_the_staff_api_needs_the_token(staff_api: tuple[str, str, str]) -> None:
    base, reference, _ = staff_api
    assert httpx.get(f"{base}/staff/api/alerts").status_code == 401
    assert (
        httpx.get(f"{base}/staff/api/alerts", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert httpx.post(f"{base}/staff/api/alerts/{reference}/ack", json={}).status_code == 401


def test_list_get_acknowledge_and_note(staff_api: tuple[str, str, str]) -> None:
    base, reference, sid = staff_api
    listed = httpx.get(f"{base}/staff/api/alerts", headers=AUTH).json()
    assert [a["reference"] for a in listed] == [reference]
    assert listed[0]["inbound_message_sids"] == [sid]

    one = httpx.get(f"{base}/staff/api/alerts/{reference}", headers=AUTH).json()
    assert one["messages"][0]["text"] == "my stepdad hits me"
    assert one["chronology"][0]["reference"] == reference
    assert one["pages"][0]["to"] == "Sam Okafor"

    ack = httpx.post(
        f"{base}/staff/api/alerts/{reference}/ack", json={"actor": "Sam"}, headers=AUTH
    )
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    note = httpx.post(
        f"{base}/staff/api/alerts/{reference}/notes", json={"text": "Spoke to her."}, headers=AUTH
    )
    assert note.status_code == 201


def test_bad_requests_get_clear_answers(staff_api: tuple[str, str, str]) -> None:
    base, reference, _ = staff_api
    assert httpx.get(f"{base}/staff/api/alerts/WM-NOPE0", headers=AUTH).status_code == 404
    empty = httpx.post(
        f"{base}/staff/api/alerts/{reference}/notes", json={"text": ""}, headers=AUTH
    )
    assert empty.status_code == 422
    past = httpx.post(
        f"{base}/staff/api/rota/shifts",
        json={
            "starts_at": "2020-01-01T09:00:00Z",
            "ends_at": "2020-01-01T17:00:00Z",
            "primary_id": 1,
        },
        headers=AUTH,
    )
    assert past.status_code == 422 and "past" in past.json()["detail"]
    nonsense = httpx.post(
        f"{base}/staff/api/rota/shifts", json={"starts_at": "tuesday"}, headers=AUTH
    )
    assert nonsense.status_code == 422
    assert (
        httpx.get(f"{base}/staff/api/rota/now", headers=AUTH).json()["primary"]["name"]
        == "Sam Okafor"
    )
