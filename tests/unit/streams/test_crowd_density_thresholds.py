from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from citypulse.domain.stages import NARROW_ALLEY_THRESHOLDS, Stage, StageThresholds
from citypulse.domain.thresholds import EventDayProfile, ThresholdBook, stricter
from streams.crowd.density import density_per_m2

NOW = datetime(2026, 12, 31, 14, 0, tzinfo=UTC)  # 23:00 KST, New Year's Eve


@pytest.mark.parametrize(
    ("people", "m2", "per_m2", "plausible"),
    [
        (0, 500.0, 0.0, True),
        (1500, 500.0, 3.0, True),
        (5000, 500.0, 10.0, True),  # 10/m² is the edge, still possible
        (5001, 500.0, 10.002, False),  # flagged, not clipped
        # 강남역 at 91,000 people over a 10,000 m² polygon slice
        (91000, 10000.0, 9.1, True),
    ],
)
def test_density_per_m2(people: float, m2: float, per_m2: float, plausible: bool) -> None:
    d = density_per_m2(people, m2)
    assert d.per_m2 == pytest.approx(per_m2)
    assert d.plausible is plausible


@pytest.mark.parametrize(("people", "m2"), [(10, 0.0), (10, -5.0), (-1, 10.0), (math.nan, 1.0)])
def test_density_rejects_impossible_inputs(people: float, m2: float) -> None:
    with pytest.raises(ValueError):
        density_per_m2(people, m2)


CITY_EVENT = EventDayProfile(
    name="countdown",
    start=NOW - timedelta(hours=2),
    end=NOW + timedelta(hours=3),
    thresholds=StageThresholds(attention=1.0, caution=1.5, alert=2.0, serious=3.5),
    area_codes=frozenset({"POI009"}),
)
ZONE_EVENT = EventDayProfile(
    name="fireworks",
    start=NOW,
    end=NOW + timedelta(hours=1),
    thresholds=StageThresholds(attention=0.5, caution=1.0, alert=6.0, serious=7.0),
    zones=frozenset({("POI009", "plaza")}),
)
BOOK = ThresholdBook(
    per_area={"POI009": StageThresholds(attention=1.2, caution=1.8, alert=2.8, serious=4.5)},
    per_zone={("POI009", "alley"): NARROW_ALLEY_THRESHOLDS},
    events=(CITY_EVENT, ZONE_EVENT),
)


@pytest.mark.parametrize(
    ("area", "zone", "now", "bounds", "origin"),
    [
        ("POI001", None, NOW, (1.5, 2.0, 3.0, 5.0), "default"),
        ("POI009", None, NOW - timedelta(hours=3), (1.2, 1.8, 2.8, 4.5), "area"),
        ("POI009", "gate", NOW - timedelta(hours=3), (1.2, 1.8, 2.8, 4.5), "area"),
        ("POI009", "alley", NOW - timedelta(hours=3), (1.0, 1.5, 2.5, 4.0), "zone"),
        # event active: stricter, boundary by boundary
        ("POI009", None, NOW, (1.0, 1.5, 2.0, 3.5), "area+event:countdown"),
        # event end is exclusive
        ("POI009", None, NOW + timedelta(hours=3), (1.2, 1.8, 2.8, 4.5), "area"),
        # the alley is already stricter at attention and caution; the event never relaxes it
        (
            "POI009",
            "alley",
            NOW - timedelta(minutes=1),
            (1.0, 1.5, 2.0, 3.5),
            "zone+event:countdown",
        ),
        # both profiles on the plaza: the minimum of all three
        ("POI009", "plaza", NOW, (0.5, 1.0, 2.0, 3.5), "area+event:countdown+event:fireworks"),
        # area-scope state is not touched by a zone-only profile
        ("POI001", "plaza", NOW, (1.5, 2.0, 3.0, 5.0), "default"),
    ],
)
def test_threshold_resolution(
    area: str, zone: str | None, now: datetime, bounds: tuple[float, ...], origin: str
) -> None:
    resolved = BOOK.resolve(area, zone, now)
    t = resolved.thresholds
    assert (t.attention, t.caution, t.alert, t.serious) == bounds
    assert resolved.origin == origin


@pytest.mark.parametrize(
    ("density", "zone", "stage"),
    [(2.7, None, Stage.CAUTION), (2.7, "alley", Stage.ALERT), (4.0, "alley", Stage.SERIOUS)],
)
def test_resolved_stage(density: float, zone: str | None, stage: Stage) -> None:
    later = NOW + timedelta(days=1)
    assert BOOK.resolve("POI009", zone, later).stage(density) is stage


def test_stricter_stays_increasing_and_profile_needs_an_end() -> None:
    s = stricter(NARROW_ALLEY_THRESHOLDS, StageThresholds(0.5, 3.0, 3.5, 3.9))
    assert (s.attention, s.caution, s.alert, s.serious) == (0.5, 1.5, 2.5, 3.9)
    with pytest.raises(ValueError):
        EventDayProfile("x", NOW, NOW, StageThresholds())
