"""The whole assistant: a real Rasa server with the trained model, the real action server and
the API process with its worker, a real SQLite database, and the real twilio client talking
to a loopback Twilio stand-in. Rasa starts once per session (about 30 s)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from tests.conftest import TEST_FERNET_KEY, TEST_HASH_KEY, make_settings
from tests.support.factories import new_phone, new_sid, seed_team, webhook_params
from tests.support.live import free_port
from tests.support.twilio_standin import StandIn, start_standin, stop_standin
from waymark.db import make_engine
from waymark.models import Alert, AlertMessage, InboundMessage
from waymark.settings import ROOT
from waymark.supervisor import DEFAULT_MODEL, Stack, StackConfig

STAFF_FROM = "+447700900099"
SMS_FROM = "+447700900000"
PUBLIC = "https://waymark.e2e"
DUTY = {"primary": "+447700900501", "backup": "+447700900502", "manager": "+447700900503"}
# What the tests sign and seed with; the processes get the same values through the environment.
SETTINGS = make_settings(
    twilio_sms_from=SMS_FROM, twilio_staff_from=STAFF_FROM, public_base_url=PUBLIC
)


def _model() -> Path:
    model = Path(os.environ.get("WAYMARK_RASA_MODEL", DEFAULT_MODEL))
    if not model.is_absolute():
        model = ROOT / model
    if not model.exists():
        pytest.fail(f"no trained model at {model}: run `make model` (make test does)")
    return model


@dataclass
class E2E:
    """Handles on the running assistant."""

    standin: StandIn
    db_url: str
    sessions: sessionmaker[Session]
    core: Stack  # rasa + actions
    api: Stack
    base_env: dict[str, str]
    log_dir: Path
    last_sid: str = ""

    @property
    def api_url(self) -> str:
        return self.api.config.api_url

    def restart_api(self, **env: str) -> None:
        """Restart the API process with extra environment (e.g. a dead RASA_URL)."""
        self.api.stop_one("api")
        config = StackConfig(
            api_port=free_port(),
            rasa_port=int(env.pop("_rasa_port", self.core.config.rasa_port)),
            action_port=self.core.config.action_port,
            model=self.core.config.model,
            env={**self.base_env, **env},
            log_dir=self.log_dir,
        )
        self.api = Stack(config)
        self.api.start_one("api")
        self.api.wait_until(f"{config.api_url}/healthz", 60, name="api")

    def text(self, body: str, *, phone: str, channel: str = "sms", sid: str | None = None) -> str:
        """Send a signed webhook as Twilio would; returns the MessageSid."""
        params = webhook_params(
            body=body, phone=phone, settings=SETTINGS, channel=channel, sid=sid or new_sid()
        )
        path = f"/twilio/{channel}"
        signature = RequestValidator(self.standin.auth_token).compute_signature(
            PUBLIC + path, params
        )
        response = httpx.post(
            self.api_url + path, data=params, headers={"X-Twilio-Signature": signature}, timeout=10
        )
        assert response.status_code == 200, response.text
        return params["MessageSid"]

    def turn(
        self, body: str, *, phone: str, channel: str = "sms", timeout: float = 40.0
    ) -> list[str]:
        """Text the assistant and return this turn's replies once they reached Twilio."""
        from waymark.models import OutboundMessage

        sid = self.last_sid = self.text(body, phone=phone, channel=channel)

        def sent() -> list[str] | None:
            with self.sessions() as session:
                message = session.scalar(
                    select(InboundMessage).where(InboundMessage.message_sid == sid)
                )
                if message is None or message.status == "received":
                    return None
                rows = session.scalars(
                    select(OutboundMessage)
                    .where(OutboundMessage.in_reply_to_id == message.id)
                    .order_by(OutboundMessage.id)
                ).all()
                if any(r.status in ("queued", "sending") for r in rows):
                    return None
                return [r.body for r in rows] or None

        return list(self.wait_for(sent, timeout=timeout))

    def replies(self, phone: str, *, count: int = 1, timeout: float = 30.0) -> list[str]:
        """Wait for at least `count` replies to a number; returns all so far."""
        found = self.standin.wait_for(lambda m: m["To"].endswith(phone), timeout=timeout)
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            time.sleep(0.1)
            found = [m for m in self.standin.messages if m["To"].endswith(phone)]
        assert len(found) >= count, f"expected {count} replies, got {[m['Body'] for m in found]}"
        return [m["Body"] for m in found]

    def alerts_for(self, sid: str) -> list[Alert]:
        """The alerts covering a MessageSid."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Alert)
                    .join(AlertMessage, AlertMessage.alert_id == Alert.id)
                    .join(InboundMessage, InboundMessage.id == AlertMessage.inbound_message_id)
                    .where(InboundMessage.message_sid == sid)
                ).all()
            )

    def wait_for(self, condition: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError("condition not met")

    def pages_to(self, number: str) -> list[str]:
        return [m["Body"] for m in self.standin.sent_to(number)]


@pytest.fixture(scope="session")
def e2e(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[E2E]:
    model = _model()
    standin = start_standin()
    work = tmp_path_factory.mktemp("e2e")
    db_path = work / "waymark.db"
    shutil.copy(sqlite_template, db_path)
    db_url = f"sqlite:///{db_path}"
    env = {
        "WAYMARK_ENV": "test",
        "WAYMARK_DATABASE_URL": db_url,
        "WAYMARK_PHONE_HASH_KEY": TEST_HASH_KEY,
        "WAYMARK_PHONE_ENCRYPTION_KEYS": TEST_FERNET_KEY,
        "TWILIO_ACCOUNT_SID": standin.account_sid,
        "TWILIO_AUTH_TOKEN": standin.auth_token,
        "TWILIO_API_BASE_URL": standin.base_url,
        "TWILIO_SMS_FROM": SMS_FROM,
        "TWILIO_WHATSAPP_FROM": f"whatsapp:{SMS_FROM}",
        "TWILIO_STAFF_FROM": STAFF_FROM,
        "TWILIO_TIMEOUT_SECONDS": "2",
        "PUBLIC_BASE_URL": PUBLIC,
        "STAFF_API_TOKEN": "staff-token",
        "DUTY_HOURS": "mon-sun 00:00-23:59",
        "WORKER_POLL_SECONDS": "0.1",
        "RECONCILE_AFTER_SECONDS": "3",
        "SEND_LEASE_SECONDS": "4",
        "TURN_LEASE_SECONDS": "20",
    }
    engine = make_engine(db_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        seed_team(session, SETTINGS.model_copy(update={"waymark_database_url": db_url}))
        session.commit()
    log_dir = work / "logs"
    core = Stack(
        StackConfig(
            api_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            model=model,
            env=env,
            log_dir=log_dir,
        )
    )
    core.start_one("rasa")
    core.start_one("actions")
    api = Stack(
        StackConfig(
            api_port=free_port(),
            rasa_port=core.config.rasa_port,
            action_port=core.config.action_port,
            model=model,
            env=env,
            log_dir=log_dir,
        )
    )
    api.start_one("api")
    try:
        api.wait_ready(timeout=300)
    except TimeoutError:
        for log in sorted(log_dir.glob("*.log")):
            print(f"==== {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        core.stop()
        api.stop()
        raise
    handle = E2E(standin, db_url, sessions, core, api, env, log_dir)
    yield handle
    handle.api.stop()
    core.stop()
    stop_standin(standin)
    engine.dispose()


@pytest.fixture
def phone() -> str:
    return new_phone()
