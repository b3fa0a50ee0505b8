"""The gateway: Twilio's SMS and WhatsApp webhooks and status callbacks.

Every inbound message is stored (and committed) before anything else, then screened; Twilio
gets an empty TwiML answer at once and the turn runs in the background worker."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response
from twilio.request_validator import RequestValidator

from api.deps import SessionDep, SettingsDep
from waymark.errors import InvalidInput
from waymark.queue import apply_status_callback
from waymark.services import conversations
from waymark.settings import Settings

router = APIRouter(prefix="/twilio", tags=["twilio"])
log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _twiml() -> Response:
    return Response(content=EMPTY_TWIML, media_type="application/xml")


async def _signed_params(request: Request, settings: Settings) -> dict[str, str] | None:
    """The form parameters if the X-Twilio-Signature is valid for our public URL, else None."""
    try:
        form = await request.form()
    except Exception:
        return None
    params = {key: str(value) for key, value in form.items()}
    url = settings.public_base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(settings.effective_twilio_auth_token)
    if not signature or not validator.validate(url, params, signature):
        return None
    return params


def _int(value: str | None) -> int:
    try:
        return max(int(value or 0), 0)
    except ValueError:
        return 0


async def _inbound(
    request: Request, settings: Settings, session: SessionDep, channel: str
) -> Response:
    params = await _signed_params(request, settings)
    if params is None:
        return PlainTextResponse("invalid or missing X-Twilio-Signature", status_code=403)
    num_media = _int(params.get("NumMedia"))
    media_types = [params.get(f"MediaContentType{i}", "") for i in range(min(num_media, 10))]
    try:
        received = await run_in_threadpool(
            conversations.receive,
            session,
            settings,
            message_sid=params.get("MessageSid") or params.get("SmsMessageSid") or "",
            from_number=params.get("From", ""),
            to_number=params.get("To", ""),
            body=params.get("Body", ""),
            num_media=num_media,
            media_types=media_types,
            channel=channel,
        )
    except InvalidInput as exc:
        return PlainTextResponse(f"bad request: {exc}", status_code=400)
    if received.first_delivery:
        worker = getattr(request.app.state, "worker", None)
        if worker is not None:
            # The turn starts now and screens the message first thing; screening here as well
            # would compete with it for the same CPU and delay the answer.
            worker.wake()
            return _twiml()
        # No worker in this process: screen now, so the record carries the result at once.
        # A failure must not cost the message: the worker's reconciler screens what is left.
        try:
            await run_in_threadpool(
                conversations.screen_stored, session, inbound_message_id=received.message.id
            )
        except Exception:
            log.exception("screening message %s failed; the worker will retry", received.message.id)
    return _twiml()


@router.post("/sms")
async def sms(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    """Twilio's inbound SMS webhook."""
    return await _inbound(request, settings, session, "sms")


@router.post("/whatsapp")
async def whatsapp(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    """Twilio's inbound WhatsApp webhook."""
    return await _inbound(request, settings, session, "whatsapp")


@router.post("/status")
async def status(request: Request, settings: SettingsDep, session: SessionDep) -> Response:
    """Twilio's delivery status callbacks (they can arrive out of order)."""
    params = await _signed_params(request, settings)
    if params is None:
        return PlainTextResponse("invalid or missing X-Twilio-Signature", status_code=403)
    sid, state = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not state:
        return PlainTextResponse("bad request: MessageSid and MessageStatus are required", 400)

    def _apply() -> None:
        apply_status_callback(
            session, twilio_sid=sid, status=state, error_code=_int(params.get("ErrorCode")) or None
        )
        session.commit()

    await run_in_threadpool(_apply)
    return Response(status_code=204)
