"""All configuration, from the environment and `.env` (documented in `.env.example`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from waymark.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent

# The dev phone signs its webhooks with this when no real Twilio token is configured.
DEV_TWILIO_AUTH_TOKEN = "waymark-dev-token-not-secret"


class Settings(BaseSettings):
    """Waymark settings. Environment variable names are the field names in upper case."""

    model_config = SettingsConfigDict(
        env_file=str(ROOT / ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        env_ignore_empty=True,
    )

    waymark_env: Literal["development", "production", "test"] = "development"
    waymark_database_url: str = f"sqlite:///{ROOT / 'var' / 'waymark.db'}"
    public_base_url: str = "http://127.0.0.1:8000"

    # Keys: the HMAC pepper for phone look-ups and Fernet keys (comma-separated, newest first).
    waymark_phone_hash_key: str = ""
    waymark_phone_encryption_keys: str = ""

    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_sms_from: str = ""
    twilio_whatsapp_from: str = ""
    twilio_staff_from: str = ""
    twilio_api_base_url: str = ""
    twilio_timeout_seconds: float = 10.0

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 8.0
    action_server_url: str = "http://127.0.0.1:5055"

    staff_api_token: str = ""
    dashboard_url: str = "http://127.0.0.1:8000/staff"

    duty_timezone: str = "Europe/London"
    # Duty hours when a person can reply, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00".
    duty_hours: str = "mon-fri 09:00-17:00"
    local_services_file: Path = ROOT / "config" / "local_services.yml"
    rota_file: Path = ROOT / "config" / "rota.yml"

    # Escalation ladder, minutes until the next level when a page is not acknowledged.
    escalation_emergency_minutes: str = "5,10"
    escalation_urgent_minutes: str = "15,30"
    join_window_minutes: int = 10

    worker_poll_seconds: float = Field(default=0.5, gt=0)
    reconcile_after_seconds: float = Field(default=30.0, ge=0)
    send_max_attempts: int = 8
    # How long a claimed send or turn stays claimed: a worker that dies mid-way is replaced
    # after this. A turn's lease must outlast Rasa's timeout.
    send_lease_seconds: float = Field(default=60.0, gt=0)
    turn_lease_seconds: float = Field(default=60.0, gt=0)

    @field_validator("public_base_url", "rasa_url", "action_server_url", "twilio_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("local_services_file", "rota_file")
    @classmethod
    def _relative_to_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else ROOT / value

    @property
    def is_production(self) -> bool:
        """True in production, where the dev phone and dev keys are refused."""
        return self.waymark_env == "production"

    @property
    def twilio_enabled(self) -> bool:
        """True when real (or stand-in) Twilio credentials are configured."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def effective_twilio_auth_token(self) -> str:
        """The token webhooks are validated with; a fixed dev token when none is configured."""
        if self.twilio_auth_token:
            return self.twilio_auth_token
        if self.is_production:
            raise ConfigurationError("TWILIO_AUTH_TOKEN is required in production")
        return DEV_TWILIO_AUTH_TOKEN

    def escalation_minutes(self, severity: str) -> list[int]:
        """The escalation delays for a severity (empty: no paging ladder)."""
        raw = {
            "emergency": self.escalation_emergency_minutes,
            "urgent": self.escalation_urgent_minutes,
        }.get(severity, "")
        return [int(part) for part in raw.split(",") if part.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
