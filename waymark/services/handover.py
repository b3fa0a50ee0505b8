"""Handover to a person: honest about when someone can reply (duty hours from settings)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from waymark.errors import ConfigurationError
from waymark.models import utcnow
from waymark.settings import Settings

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_SPEC = re.compile(r"^\s*([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """Hours on one weekday (0 = Monday) when a person can reply."""

    weekday: int
    start: time
    end: time


def parse_duty_hours(spec: str) -> list[Window]:
    """Parse "mon-fri 09:00-17:00; sat 10:00-14:00".

    Raises:
        ConfigurationError: the text cannot be read.
    """
    windows: list[Window] = []
    for part in filter(None, (p.strip().lower() for p in spec.split(";"))):
        match = _SPEC.match(part)
        if not match or match.group(1) not in DAYS or (match.group(2) or "mon") not in DAYS:
            raise ConfigurationError(f"DUTY_HOURS: cannot read {part!r}")
        first = DAYS.index(match.group(1))
        last = DAYS.index(match.group(2)) if match.group(2) else first
        start = time(int(match.group(3)), int(match.group(4)))
        end = time(int(match.group(5)), int(match.group(6)))
        if end <= start:
            raise ConfigurationError(f"DUTY_HOURS: {part!r} ends before it starts")
        windows.extend(Window(day, start, end) for day in range(first, last + 1))
    return windows


def is_open(settings: Settings, *, at: datetime | None = None) -> bool:
    """Whether a person is on hand to reply now."""
    return window_start(settings, at=at) is not None


def next_opening(settings: Settings, *, at: datetime | None = None) -> datetime | None:
    """When duty hours next start (local time), or None if none are configured."""
    zone = ZoneInfo(settings.duty_timezone)
    local = (at or utcnow()).astimezone(zone)
    windows = parse_duty_hours(settings.duty_hours)
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        starts = sorted(w.start for w in windows if w.weekday == day.weekday())
        for start in starts:
            candidate = datetime.combine(day, start, tzinfo=zone)
            if candidate > local:
                return candidate
    return None


def describe_next(settings: Settings, *, at: datetime | None = None) -> str:
    """When a person can next reply, in words for a text: "today at 9am", "Monday at 9am"."""
    now = (at or utcnow()).astimezone(ZoneInfo(settings.duty_timezone))
    opening = next_opening(settings, at=at)
    if opening is None:
        return "the next working day"
    hour = opening.strftime("%I").lstrip("0")
    minutes = "" if opening.minute == 0 else opening.strftime(":%M")
    clock = f"{hour}{minutes}{opening.strftime('%p').lower()}"
    days = (opening.date() - now.date()).days
    day = "today" if days == 0 else "tomorrow" if days == 1 else DAY_NAMES[opening.weekday()]
    return f"{day} at {clock}"


def window_start(settings: Settings, *, at: datetime | None = None) -> datetime | None:
    """When the duty window open at `at` started, or None when no window is open."""
    local = (at or utcnow()).astimezone(ZoneInfo(settings.duty_timezone))
    for w in parse_duty_hours(settings.duty_hours):
        if w.weekday == local.weekday() and w.start <= local.time() < w.end:
            return datetime.combine(local.date(), w.start, tzinfo=local.tzinfo)
    return None
