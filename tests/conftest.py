"""Shared fixtures: real databases (SQLite, and PostgreSQL when WAYMARK_TEST_POSTGRES_URL is
set), migrated with Alembic; per-test savepoint rollback; settings that ignore any .env."""

from __future__ import annotations

import atexit
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from waymark.db import make_engine
from waymark.migrate import upgrade
from waymark.models import Base
from waymark.settings import Settings

TEST_HASH_KEY = "test-pepper-" + "x" * 20
TEST_FERNET_KEY = Fernet.generate_key().decode()
POSTGRES_SERVER_URL = os.environ.get("WAYMARK_TEST_POSTGRES_URL", "")


def _own_postgres_database(server_url: str) -> str:
    """A database of this test run's own on the given server, so that concurrent runs (CI and
    a developer, or two developers) never share tables. Dropped when the run ends."""
    if not server_url:
        return ""
    url = make_url(server_url)
    name = f"waymark_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()

    def _drop() -> None:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    atexit.register(_drop)
    return url.set(database=name).render_as_string(hide_password=False)


POSTGRES_URL = _own_postgres_database(POSTGRES_SERVER_URL)

# Processes the tests start read these; a developer's .env must not leak into tests.
os.environ.update(
    {
        "WAYMARK_ENV": "test",
        "WAYMARK_PHONE_HASH_KEY": TEST_HASH_KEY,
        "WAYMARK_PHONE_ENCRYPTION_KEYS": TEST_FERNET_KEY,
    }
)


def make_settings(**overrides: object) -> Settings:
    """Settings for a test, never read from .env."""
    values: dict[str, object] = {
        "waymark_env": "test",
        "waymark_phone_hash_key": TEST_HASH_KEY,
        "waymark_phone_encryption_keys": TEST_FERNET_KEY,
        "public_base_url": "https://waymark.test",
        "twilio_auth_token": "test-token",
        "twilio_sms_from": "+447700900000",
        "twilio_whatsapp_from": "whatsapp:+447700900000",
        "twilio_staff_from": "+447700900099",
        "staff_api_token": "staff-token",
        "rasa_url": "http://127.0.0.1:9",  # nothing listens: tests that need Rasa start it
        "duty_hours": "mon-sun 00:00-23:59",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings() -> Settings:
    """Test settings."""
    return make_settings()


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database to copy for tests that need their own file."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


DATABASES = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


@pytest.fixture(scope="session", params=DATABASES)
def engine(request: pytest.FixtureRequest, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated engine per database kind."""
    if request.param == "postgresql":
        _reset_postgres(POSTGRES_URL)
        upgrade(POSTGRES_URL)
        engine = make_engine(POSTGRES_URL)
    else:
        path = sqlite_template.parent / "shared.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A database of its own for tests that run threads or processes (no shared transaction)."""
    if POSTGRES_URL and getattr(request, "param", "sqlite") == "postgresql":
        _reset_postgres(POSTGRES_URL)
        upgrade(POSTGRES_URL)
        return POSTGRES_URL
    path = tmp_path / "waymark.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory on the test's own database."""
    engine = make_engine(db_url)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()
