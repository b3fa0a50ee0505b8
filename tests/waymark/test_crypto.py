"""Phone numbers: keyed hash for look-up, encrypted at rest, rotation, never in logs."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from tests.conftest import make_settings
from tests.support.factories import receive_text
from waymark.crypto import decrypt_phone, encrypt_phone, normalise_phone, phone_hash
from waymark.errors import ConfigurationError, InvalidInput
from waymark.settings import Settings


def test_sms_and_whatsapp_forms_are_the_same_person(settings: Settings) -> None:
    assert phone_hash(settings, "whatsapp:+447700900123") == phone_hash(settings, "+44 7700 900123")
    assert phone_hash(settings, "+447700900123") != phone_hash(
        make_settings(waymark_phone_hash_key="another-pepper-entirely"), "+447700900123"
    )


def test_key_rotation_keeps_old_numbers_readable(settings: Settings) -> None:
    token = encrypt_phone(settings, "+447700900123")
    rotated = make_settings(
        waymark_phone_encryption_keys=f"{Fernet.generate_key().decode()},{settings.waymark_phone_encryption_keys}"
    )
    assert decrypt_phone(rotated, token) == "+447700900123"


def test_missing_keys_say_how_to_make_them() -> None:
    with pytest.raises(ConfigurationError, match="init-env"):
        phone_hash(make_settings(waymark_phone_hash_key=""), "+447700900123")


def test_nonsense_numbers_are_refused() -> None:
    with pytest.raises(InvalidInput):
        normalise_phone("call me maybe")


def test_numbers_never_reach_the_logs(
    session: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receive_text(session, settings, "hello", phone="+447700900777")
    assert "7700900777" not in caplog.text
