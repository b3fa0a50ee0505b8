"""Actions read settings and the database the way the action server does: from the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from waymark import db, settings


@pytest.fixture
def app_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the process-wide settings and engine at the test's database."""
    monkeypatch.setenv("WAYMARK_DATABASE_URL", db_url)
    monkeypatch.setenv("TWILIO_STAFF_FROM", "+447700900099")
    monkeypatch.setenv("DUTY_HOURS", "mon-sun 00:00-23:59")
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
    yield db_url
    db.get_engine().dispose()
    for cached in (settings.get_settings, db.get_engine, db.get_sessionmaker):
        cached.cache_clear()
