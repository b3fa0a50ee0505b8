"""Talking to Rasa's REST channel (bound to a private interface) and the action server."""

from __future__ import annotations

import functools
from typing import Any

import httpx

from waymark.settings import Settings


@functools.cache
def _client() -> httpx.Client:
    # One pooled client per process: a new client per call costs an SSL context and a TCP
    # handshake, which measured ~50 ms a turn. httpx clients are thread-safe.
    return httpx.Client(limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))


class RasaUnavailable(Exception):
    """Rasa did not answer in time, or answered with an error."""


def send_message(
    settings: Settings, *, sender: str, text: str, metadata: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run one turn through Rasa's REST channel and return its replies.

    Raises:
        RasaUnavailable: connection refused, timeout or a non-200 answer.
    """
    try:
        response = _client().post(
            f"{settings.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": metadata},
            timeout=settings.rasa_timeout_seconds,
        )
    except httpx.HTTPError as exc:
        raise RasaUnavailable(type(exc).__name__) from exc
    if response.status_code != 200:
        raise RasaUnavailable(f"rasa answered {response.status_code}")
    try:
        replies = response.json()
    except ValueError as exc:
        raise RasaUnavailable("rasa answered with something other than JSON") from exc
    if not isinstance(replies, list):
        raise RasaUnavailable("rasa answered with something other than a list")
    return replies


def rasa_ready(settings: Settings) -> bool:
    """True when Rasa answers and has a model loaded."""
    try:
        response = httpx.get(f"{settings.rasa_url}/status", timeout=2.0)
        return response.status_code == 200 and bool(response.json().get("model_file"))
    except (httpx.HTTPError, ValueError):
        return False


def action_server_ready(settings: Settings) -> bool:
    """True when the action server answers its health check."""
    try:
        return httpx.get(f"{settings.action_server_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False
