"""Sending: the real twilio client (pointed at a loopback stand-in when configured), or a local
transport that only records, for development without credentials."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from waymark.settings import Settings

TWILIO_API = "https://api.twilio.com"

# The twilio library logs request URLs and bodies at INFO/DEBUG: never let them reach a log.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


@dataclass(frozen=True)
class SendResult:
    """What happened to one send."""

    ok: bool
    sid: str | None = None
    error_code: int | None = None
    error: str | None = None
    retryable: bool = False


class Transport(Protocol):
    """Sends one message."""

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> SendResult:
        """Send a message."""


class _BaseUrlHttpClient(TwilioHttpClient):
    """Rewrites Twilio's REST base URL, so the real client can talk to a stand-in."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if self._base_url and url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioTransport:
    """Sends through Twilio's REST API with the official client."""

    def __init__(self, settings: Settings) -> None:
        self._client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            http_client=_BaseUrlHttpClient(
                settings.twilio_api_base_url, settings.twilio_timeout_seconds
            ),
        )

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> SendResult:
        """Send one message; classify failures as retryable or permanent."""
        try:
            kwargs: dict[str, Any] = {"to": to, "from_": from_, "body": body}
            if status_callback:
                kwargs["status_callback"] = status_callback
            message = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            from waymark.queue import PERMANENT_ERROR_CODES

            code = int(exc.code) if exc.code else None
            retryable = exc.status == 429 or exc.status >= 500 or code == 30003
            if code in PERMANENT_ERROR_CODES:
                retryable = False
            return SendResult(
                ok=False, error_code=code, error=f"twilio {exc.status}", retryable=retryable
            )
        except (requests.RequestException, OSError) as exc:
            return SendResult(ok=False, error=type(exc).__name__, retryable=True)
        return SendResult(ok=True, sid=message.sid)


class LocalTransport:
    """Development without Twilio: a message counts as delivered; the dev phone reads the table."""

    def send(self, *, to: str, from_: str, body: str, status_callback: str | None) -> SendResult:
        """Accept the message locally."""
        return SendResult(ok=True, sid=f"LOCAL{uuid.uuid4().hex}")


def make_transport(settings: Settings) -> Transport:
    """The transport the settings ask for."""
    if settings.twilio_enabled:
        return TwilioTransport(settings)
    return LocalTransport()
