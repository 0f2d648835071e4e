"""CITYPULSE_WATCHDOG_*: numbers in E.164, one threshold with per-check overrides."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerts.watchdog.settings import WatchdogSettings


def test_oncall_numbers_and_thresholds() -> None:
    s = WatchdogSettings(oncall=" +821000000101,+821000000102 ", stale_s=15, feed_stale_s=0)
    assert s.numbers == ["+821000000101", "+821000000102"]
    assert s.thresholds() == {"worker": 15, "dispatcher": 15, "feed": 0, "database": 15}


def test_defaults_are_a_minute_and_nobody() -> None:
    s = WatchdogSettings()
    assert s.numbers == [] and set(s.thresholds().values()) == {60.0}


@pytest.mark.parametrize("oncall", ["01012345678", "+82 10 1234 5678", "+8210,abc"])
def test_numbers_not_in_e164_are_refused(oncall: str) -> None:
    with pytest.raises(ValidationError):
        WatchdogSettings(oncall=oncall)
