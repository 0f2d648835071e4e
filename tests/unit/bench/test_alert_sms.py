"""bench/alert_sms.py: the bench's SMS count goes through the service's own lifecycle,
grouping, fan-out, rate limit and outbox rows, to a Seoul-like directory."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bench.alert_scenarios import RunResult, replay, zone_events, zone_ramp
from bench.alert_sms import seoul_directory, sms_figures
from citypulse.domain.korea_time import KST
from sensors.registry import hotspots_by_code

AREA = "POI009"
HOTSPOTS = hotspots_by_code()
DIRECTORY = seoul_directory(h.district for h in HOTSPOTS.values())
START = datetime(2026, 6, 19, 18, 0, tzinfo=KST)


def ramp_run(ack_after_s: float | None) -> RunResult:
    case = zone_ramp(AREA, START, 30, seed=2)
    end = START + timedelta(minutes=case.minutes)
    return replay(zone_events(case), START, end, {AREA: HOTSPOTS[AREA]}, None,
                  directory=DIRECTORY, ack_after_s=ack_after_s)  # fmt: skip


def test_the_directory_is_a_seoul_one() -> None:
    districts = {h.district for h in HOTSPOTS.values()}
    tiers = Counter((r.role, r.tier) for r in DIRECTORY.recipients)
    assert tiers[("crowd", 1)] == 2 * len(districts) and tiers[("technical", 1)] == 2
    assert tiers[("crowd", 2)] == 3 and tiers[("crowd", 3)] == 4


def test_a_ramp_texts_its_district_first_and_everyone_at_serious() -> None:
    result = ramp_run(ack_after_s=240.0)
    assert result.sms is not None
    by_id = {r.recipient_id: r for r in DIRECTORY.recipients}
    crowd = [s for s in result.sms.sent if not s.technical]
    district = HOTSPOTS[AREA].district
    first = min(crowd, key=lambda s: s.at)
    assert first.template == "fire" and first.tier == 1
    # Tier 1 texts reach only the area's own district centre.
    assert {by_id[s.recipient_id].districts for s in crowd if s.tier == 1} == {
        frozenset({district})
    }
    # 심각 reaches tiers 2 and 3 at once, as an escalation of the open stage alert.
    assert {(s.tier, s.template) for s in crowd if s.tier > 1} == {(2, "escalate"), (3, "escalate")}
    # The zone's counters alone: the area's telecom feed is silent, the technicians' news.
    assert all(by_id[s.recipient_id].role == "technical" for s in result.sms.sent if s.technical)


def test_unacknowledged_alerts_bring_reminders() -> None:
    acked, never = ramp_run(ack_after_s=240.0), ramp_run(ack_after_s=None)
    assert acked.sms is not None and never.sms is not None
    assert "reminder" not in {s.template for s in acked.sms.sent}
    assert "reminder" in {s.template for s in never.sms.sent}
    figures = sms_figures([never.sms], DIRECTORY, [START.date()])
    assert figures["messages"] == len(never.sms.sent)
    assert figures["tier_1"]["per_day_max"] > figures["tier_1"]["per_day_p95"] == 0
