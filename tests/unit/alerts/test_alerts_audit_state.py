"""Each decision's audit entry keeps the alert's state as it was (the record after an
incident reads it), and a later change does not alter what an earlier entry says."""

from __future__ import annotations

import json
from datetime import timedelta

from alerts.lifecycle import acknowledge, change_severity, open_alert
from alerts.rules import AlertSubject, Escalate, Fire, Mute, Reading, RuleKind
from alerts.tables.alert_rows import state_of
from citypulse.domain.stages import Stage
from tests.unit.alerts.alerts_factories import T0

AREA = AlertSubject("POI004", "POI004", None, "용산구", "이태원", "Itaewon")


def _fire(reading: Reading, muted: Mute | None = None) -> Fire:
    return Fire(
        dedup_key="POI004:stage", rule=RuleKind.STAGE, subject=AREA, severity=Stage.ALERT,
        reading=reading, reason="r", decided_at=T0, muted=muted,
    )  # fmt: skip


def test_the_state_holds_the_reading_behind_each_change() -> None:
    first = Reading(T0, 3.4, 3400.0, trend_per_min=0.02, forecast_density_per_m2=3.9,
                    forecast_horizon_min=15)  # fmt: skip
    opened = open_alert(_fire(first), "A12", T0).record
    later = Reading(T0 + timedelta(minutes=5), 5.6, 5600.0, trend_per_min=0.1)
    up = Escalate(
        dedup_key="POI004:stage", rule=RuleKind.STAGE, subject=AREA, severity=Stage.SERIOUS,
        reading=later, reason="r", decided_at=T0 + timedelta(minutes=5), previous=Stage.ALERT,
    )  # fmt: skip
    escalated = change_severity(opened, up, T0 + timedelta(minutes=5)).record
    acked = acknowledge(escalated, "kim.op", T0 + timedelta(minutes=6)).record

    at_open, at_escalation, at_ack = state_of(opened), state_of(escalated), state_of(acked)
    assert (at_open["stage"], at_open["status"], at_open["tier"]) == ("alert", "open", 1)
    assert at_open["reading"] == {
        "as_of": T0.isoformat(), "density_per_m2": 3.4, "people": 3400.0,
        "normal_people": None, "trend_per_min": 0.02, "forecast_density_per_m2": 3.9,
        "forecast_horizon_min": 15,
    }  # fmt: skip
    assert (at_escalation["stage"], at_escalation["reading"]["density_per_m2"]) == ("serious", 5.6)
    assert (at_ack["status"], at_ack["reading"]) == ("acknowledged", at_escalation["reading"])
    assert at_open["reading"]["density_per_m2"] == 3.4  # not overwritten by later changes
    json.dumps(at_ack)  # stored as JSON as it is


def test_a_muted_alert_says_so() -> None:
    muted = open_alert(_fire(Reading(T0, 3.4, 3400.0), Mute("silence", "7", "parade")), "A1", T0)
    assert (state_of(muted.record)["muted"], state_of(muted.record)["tier"]) == (True, 0)
