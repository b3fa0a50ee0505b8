"""A test phone in the browser (development only): texts go through the same signed webhook."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from twilio.request_validator import RequestValidator

from api.deps import SessionDep, SettingsDep
from waymark.crypto import normalise_phone
from waymark.services import conversations

router = APIRouter(prefix="/dev/phone", tags=["dev"])
PAGE = Path(__file__).resolve().parent.parent / "static" / "dev_phone.html"
OUR_NUMBER = "+447700900000"


class TextIn(BaseModel):
    """A text from the test phone."""

    number: str = Field(min_length=6, max_length=20)
    channel: Literal["sms", "whatsapp"] = "sms"
    text: str = Field(default="", max_length=1600)


@router.get("", response_class=HTMLResponse)
def phone_page() -> HTMLResponse:
    """The test phone."""
    return HTMLResponse(PAGE.read_text(encoding="utf-8"))


@router.post("/send")
async def send(body: TextIn, request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Sign the text as Twilio would and post it to our own webhook."""
    number = normalise_phone(body.number)
    prefix = "whatsapp:" if body.channel == "whatsapp" else ""
    path = f"/twilio/{body.channel}"
    params = {
        "MessageSid": f"SMdev{uuid.uuid4().hex[:27]}",
        "AccountSid": settings.twilio_account_sid or "ACdev",
        "From": f"{prefix}{number}",
        "To": f"{prefix}{settings.twilio_sms_from or OUR_NUMBER}",
        "Body": body.text,
        "NumMedia": "0",
    }
    signature = RequestValidator(settings.effective_twilio_auth_token).compute_signature(
        settings.public_base_url + path, params
    )
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dev-phone") as client:
        response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    return {"status": response.status_code, "message_sid": params["MessageSid"]}


class ThreadIn(BaseModel):
    """Which test number's conversation to show."""

    number: str = Field(min_length=6, max_length=20)


@router.post("/messages")
async def messages(
    body: ThreadIn, session: SessionDep, settings: SettingsDep
) -> list[dict[str, Any]]:
    """The conversation for a test number (POST, so the number stays out of access logs)."""
    return await run_in_threadpool(
        conversations.thread_for_phone, session, settings, phone=normalise_phone(body.number)
    )
