"""A running assistant for benchmarks and evaluation: the three real processes on free ports,
a fresh SQLite database with the demo rota, and a loopback Twilio stand-in."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from tests.support.live import free_port
from tests.support.twilio_standin import StandIn, start_standin, stop_standin
from waymark.db import make_engine
from waymark.migrate import upgrade
from waymark.services import rota
from waymark.settings import ROOT, Settings
from waymark.supervisor import DEFAULT_MODEL, Stack, StackConfig

PUBLIC = "https://waymark.bench"
SMS_FROM = "+447700900000"
STAFF_FROM = "+447700900099"
DUTY = "+447700900501"


@dataclass
class Running:
    """Handles on a running assistant."""

    stack: Stack
    standin: StandIn
    sessions: sessionmaker[Session]
    client: httpx.Client

    def text(self, phone: str, body: str) -> str:
        """Send a signed SMS webhook; returns its MessageSid."""
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": self.standin.account_sid,
            "From": phone,
            "To": SMS_FROM,
            "Body": body,
            "NumMedia": "0",
        }
        signature = RequestValidator(self.standin.auth_token).compute_signature(
            PUBLIC + "/twilio/sms", params
        )
        response = self.client.post(
            f"{self.stack.config.api_url}/twilio/sms",
            data=params,
            headers={"X-Twilio-Signature": signature},
        )
        response.raise_for_status()
        return params["MessageSid"]


@contextmanager
def running_assistant(name: str, **env: str) -> Iterator[Running]:
    """Start everything under var/<name>/ and stop it afterwards."""
    model = Path(os.environ.get("WAYMARK_RASA_MODEL", DEFAULT_MODEL))
    model = model if model.is_absolute() else ROOT / model
    if not model.exists():
        raise SystemExit(f"no trained model at {model}: run `make model`")
    work = ROOT / "var" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    db_url = f"sqlite:///{work / 'waymark.db'}"
    upgrade(db_url)
    standin = start_standin()
    keys = {
        "WAYMARK_PHONE_HASH_KEY": uuid.uuid4().hex * 2,
        "WAYMARK_PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        waymark_database_url=db_url,
        waymark_phone_hash_key=keys["WAYMARK_PHONE_HASH_KEY"],
        waymark_phone_encryption_keys=keys["WAYMARK_PHONE_ENCRYPTION_KEYS"],
    )
    engine = make_engine(db_url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    with sessions() as session:
        rota.load_from_file(session, settings, path=ROOT / "config" / "rota.example.yml")
        session.commit()
    stack = Stack(
        StackConfig(
            api_port=free_port(),
            rasa_port=free_port(),
            action_port=free_port(),
            model=model,
            env={
                **keys,
                "WAYMARK_ENV": "test",
                "WAYMARK_DATABASE_URL": db_url,
                "TWILIO_ACCOUNT_SID": standin.account_sid,
                "TWILIO_AUTH_TOKEN": standin.auth_token,
                "TWILIO_API_BASE_URL": standin.base_url,
                "TWILIO_SMS_FROM": SMS_FROM,
                "TWILIO_STAFF_FROM": STAFF_FROM,
                "PUBLIC_BASE_URL": PUBLIC,
                "DUTY_HOURS": "mon-sun 00:00-23:59",
                **env,
            },
            log_dir=work / "logs",
        )
    )
    print(f"Starting Rasa, the action server and the API (logs in {work / 'logs'})...", flush=True)
    started = time.monotonic()
    stack.start()
    client = httpx.Client(timeout=30)
    try:
        stack.wait_ready(300)
        print(f"ready after {time.monotonic() - started:.0f} s", flush=True)
        yield Running(stack, standin, sessions, client)
    finally:
        client.close()
        stack.stop()
        stop_standin(standin)
        engine.dispose()
