"""Phone numbers: looked up by a keyed hash, stored encrypted, never logged."""

from __future__ import annotations

import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from waymark.errors import ConfigurationError, InvalidInput
from waymark.settings import Settings

_PHONE = re.compile(r"^\+?[0-9]{6,15}$")

KEY_HELP = (
    "Run `.venv/bin/waymark init-env` to write a .env with fresh keys, or set "
    "WAYMARK_PHONE_HASH_KEY (any long random string) and WAYMARK_PHONE_ENCRYPTION_KEYS "
    "(Fernet keys, newest first, comma-separated; make one with "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`).'
)


def normalise_phone(raw: str) -> str:
    """Turn Twilio's `From` (`+447...` or `whatsapp:+447...`) into E.164 digits with a plus."""
    value = raw.strip()
    if value.lower().startswith("whatsapp:"):
        value = value[len("whatsapp:") :]
    value = re.sub(r"[\s()-]", "", value)
    if not _PHONE.match(value):
        raise InvalidInput("not a phone number")
    return value if value.startswith("+") else f"+{value}"


def phone_hash(settings: Settings, phone: str) -> str:
    """The keyed hash (HMAC-SHA256 with a pepper kept outside the database) of a number."""
    if not settings.waymark_phone_hash_key:
        raise ConfigurationError("WAYMARK_PHONE_HASH_KEY is not set. " + KEY_HELP)
    digest = hmac.new(
        settings.waymark_phone_hash_key.encode(), normalise_phone(phone).encode(), hashlib.sha256
    )
    return digest.hexdigest()


def _fernet(settings: Settings) -> MultiFernet:
    keys = [k.strip() for k in settings.waymark_phone_encryption_keys.split(",") if k.strip()]
    if not keys:
        raise ConfigurationError("WAYMARK_PHONE_ENCRYPTION_KEYS is not set. " + KEY_HELP)
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ConfigurationError("WAYMARK_PHONE_ENCRYPTION_KEYS is not valid. " + KEY_HELP) from exc


def encrypt_phone(settings: Settings, phone: str) -> str:
    """Encrypt a number with the newest key."""
    return _fernet(settings).encrypt(normalise_phone(phone).encode()).decode()


def decrypt_phone(settings: Settings, token: str) -> str:
    """Decrypt a number with whichever configured key made it."""
    try:
        return _fernet(settings).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ConfigurationError("a phone number could not be decrypted with the keys") from exc


def redact(phone: str) -> str:
    """A form of a number safe for logs: nothing but its last two digits."""
    return f"***{phone[-2:]}" if len(phone) > 2 else "***"
