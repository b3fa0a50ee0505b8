"""The command line, run as a user would: `waymark screen` and `waymark alerts --json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TEST_FERNET_KEY, TEST_HASH_KEY, make_settings
from tests.support.factories import receive_text, seed_team
from waymark.services import alerts

ROOT = Path(__file__).resolve().parents[2]
WAYMARK = [sys.executable, "-m", "waymark.cli"]


def _env(db_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "WAYMARK_DATABASE_URL": db_url,
        "WAYMARK_PHONE_HASH_KEY": TEST_HASH_KEY,
        "WAYMARK_PHONE_ENCRYPTION_KEYS": TEST_FERNET_KEY,
    }


def test_screen_reads_lines_and_prints_json_lines() -> None:
    lines = "my stepdad hits me\nthis homework is killing me\n\n"
    out = subprocess.run(
        [*WAYMARK, "screen"], input=lines, capture_output=True, text=True, cwd=ROOT, check=True
    )
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(results) == 3
    assert results[0]["disclosure"] is True and results[0]["severity"] in ("urgent", "emergency")
    assert results[1] == {**results[1], "disclosure": False, "severity": "none"}
    assert set(results[0]) >= {"disclosure", "severity", "categories", "evidence"}


def test_alerts_json_lists_every_alert_with_its_message_sids(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    settings = make_settings(waymark_database_url=db_url)
    with sessions() as session:
        seed_team(session, settings)
        message = receive_text(session, settings, "my stepdad hits me")
        alert = alerts.raise_for_message(
            session, settings, inbound_message_id=message.id, source="assistant"
        ).alert
        expected = (alert.reference, message.message_sid)
        session.commit()
    out = subprocess.run(
        [*WAYMARK, "alerts", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(db_url),
        check=True,
    )
    rows = json.loads(out.stdout)
    assert [(r["reference"], r["inbound_message_sids"]) for r in rows] == [
        (expected[0], [expected[1]])
    ]
    assert set(rows[0]) >= {"reference", "severity", "categories", "status", "created_at"}
