"""Concerns shared on purpose: a parent, or a young person worried about a friend, tells us
what they noticed. It becomes a record for the duty worker even when the screen finds nothing,
and parents' information carries the same weight as anyone's."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from waymark.errors import InvalidInput
from waymark.models import Alert, AlertEvent, Contact, utcnow
from waymark.screen import screen
from waymark.screen.severity import is_paged
from waymark.services import alerts, paging
from waymark.settings import Settings

FIELDS = ("what", "where", "when", "who", "worry")
SKIPPED = {"skip", "dont know", "don't know", "idk", "not sure", "no idea", "pass", "n/a"}


def submit(
    session: Session,
    settings: Settings,
    *,
    contact: Contact,
    answers: dict[str, str | None],
    role: str | None,
) -> Alert:
    """Record a shared concern (the caller commits). The screen runs over the answers: if they
    describe harm that must be paged, the duty worker is paged as for any disclosure.

    Raises:
        InvalidInput: nothing was said about what they noticed.
    """
    cleaned = {
        key: (answers.get(key) or "").strip()
        for key in FIELDS
        if (answers.get(key) or "").strip().lower() not in SKIPPED
    }
    cleaned = {k: v for k, v in cleaned.items() if v}
    if not cleaned:
        raise InvalidInput("the concern has no content")
    result = screen(" . ".join(cleaned.values())).to_dict()
    severity = result["severity"] if result["severity"] != "none" else "concern"
    details: dict[str, Any] = {"answers": cleaned, "shared_by": role or "unknown"}
    open_alert = alerts.open_alert_for(session, contact_id=contact.id)
    now = utcnow()
    if open_alert is not None:
        alert = open_alert
        was_paged = is_paged(alert.severity)
        alert.details = {**(alert.details or {}), "shared_concern": details}
        if alerts.SEVERITY_ORDER[severity] > alerts.SEVERITY_ORDER[alert.severity]:
            alert.severity = severity
        session.add(AlertEvent(alert_id=alert.id, kind="concern_shared", actor="person"))
        if is_paged(alert.severity) and not was_paged:
            paging.start_paging(session, settings, alert=alert, now=now)
        return alert
    alert = Alert(
        reference=alerts.new_reference(),
        contact_id=contact.id,
        kind="shared_concern",
        severity=severity,
        categories=result["categories"],
        evidence=result["evidence"],
        speaker="parent" if role == "parent" else "young_person_about_someone_else",
        contexts=result.get("contexts") or {},
        source="concern",
        confidentiality_notice_shown=contact.notice_shown_at is not None,
        details=details,
        created_at=now,
        updated_at=now,
    )
    session.add(alert)
    session.flush()
    session.add(AlertEvent(alert_id=alert.id, kind="created", actor="concern", text=severity))
    if is_paged(severity):
        paging.start_paging(session, settings, alert=alert, now=now)
    session.flush()
    return alert
