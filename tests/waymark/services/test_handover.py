"""Duty hours: honest about when a person can reply."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import make_settings
from waymark.errors import ConfigurationError
from waymark.services import handover


def test_open_and_next_opening_in_london_time() -> None:
    settings = make_settings(duty_hours="mon-fri 09:00-17:00")
    wednesday_noon = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    sunday_morning = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    thursday_early = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    assert handover.is_open(settings, at=wednesday_noon)
    assert not handover.is_open(settings, at=friday_evening)
    assert handover.describe_next(settings, at=friday_evening) == "Monday at 9am"
    assert handover.describe_next(settings, at=sunday_morning) == "tomorrow at 9am"
    assert handover.describe_next(settings, at=thursday_early) == "today at 9am"


def test_summer_time_is_respected() -> None:
    settings = make_settings(duty_hours="mon-fri 09:00-17:00")
    # 08:30 UTC in July is 09:30 in London.
    assert handover.is_open(settings, at=datetime(2026, 7, 15, 8, 30, tzinfo=UTC))


@pytest.mark.parametrize("spec", ["weekdays 9-5", "mon-fri 17:00-09:00", "xyz 09:00-10:00"])
def test_unreadable_duty_hours_are_a_configuration_error(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        handover.parse_duty_hours(spec)
