"""Named scenarios: an ordinary day, a festival evening, a narrow-alley crush, sensor faults.

A scenario is data: surges of extra people into one area or one zone, a fault plan, and
which areas and event kinds to simulate. Times are offsets from the simulation start so
one scenario replays on any day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sensors.simulator.faults import DeviceFault, FaultPlan, MalformedAt
from sensors.simulator.records import DEFECT_KINDS, EmissionKind

ALL_KINDS: frozenset[EmissionKind] = frozenset(
    {"population_estimate", "zone_count", "environment_reading"}
)


@dataclass(frozen=True)
class Surge:
    """Extra people driven into an area (zone_id None) or one zone, over its ordinary day.

    The extra rises smoothly over `ramp_up`, holds, and falls over `ramp_down`; at the top
    the target's density (people / walkable m²) reaches `peak_density_per_m2`.
    """

    area_code: str
    zone_id: str | None
    start_after: timedelta
    ramp_up: timedelta
    hold: timedelta
    ramp_down: timedelta
    peak_density_per_m2: float

    @property
    def peak_after(self) -> timedelta:
        return self.start_after + self.ramp_up

    def envelope(self, offset: timedelta) -> float:
        """0 before and after, 1 on the plateau, smoothstep on the ramps."""
        t = offset - self.start_after
        if t <= timedelta(0):
            return 0.0
        if t < self.ramp_up:
            return _smoothstep(t / self.ramp_up)
        t -= self.ramp_up
        if t < self.hold:
            return 1.0
        t -= self.hold
        if t < self.ramp_down:
            return 1.0 - _smoothstep(t / self.ramp_down)
        return 0.0


def _smoothstep(x: float) -> float:
    return x * x * (3 - 2 * x)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    surges: tuple[Surge, ...] = ()
    faults: FaultPlan = field(default_factory=FaultPlan)
    area_codes: frozenset[str] | None = None  # None: every hotspot
    kinds: frozenset[EmissionKind] = ALL_KINDS
    suggested_duration: timedelta = timedelta(hours=24)

    def only(
        self, area_codes: frozenset[str] | None = None, kinds: frozenset[EmissionKind] | None = None
    ) -> Scenario:
        """The same scenario limited to some areas or kinds (benchmarks, focused tests)."""
        return Scenario(
            self.name,
            self.description,
            self.surges,
            self.faults,
            area_codes if area_codes is not None else self.area_codes,
            kinds if kinds is not None else self.kinds,
            self.suggested_duration,
        )


def normal_day() -> Scenario:
    return Scenario("normal_day", "every hotspot following its calibrated ordinary day")


def festival(area_code: str = "POI099", start_after: timedelta = timedelta(hours=1)) -> Scenario:
    """An evening festival or fireworks: the area climbs 관심 → 주의 → 경계 → 심각 and empties.

    Default area: 서울광장 (Seoul Plaza, about 6,500 m² walkable), the street-cheering site.
    Start the simulation around 17:00 KST for an evening peak near 20:00.
    """
    surge = Surge(
        area_code=area_code,
        zone_id=None,
        start_after=start_after,
        ramp_up=timedelta(hours=2, minutes=30),
        hold=timedelta(minutes=45),
        ramp_down=timedelta(hours=1, minutes=30),
        peak_density_per_m2=5.6,
    )
    return Scenario(
        "festival",
        f"festival crowd in {area_code}: 관심 → 주의 → 경계 → 심각 over an evening, then falls",
        surges=(surge,),
        suggested_duration=start_after + timedelta(hours=5, minutes=15),
    )


def alley_crush(
    area_code: str = "POI004",
    zone_id: str = "POI004-Z2",
    start_after: timedelta = timedelta(minutes=20),
) -> Scenario:
    """One narrow alley passes 6 persons/m² within 30 minutes; the area average stays calm.

    Default: the alley beside the Hamilton Hotel in 이태원 관광특구 (180 m²).
    """
    surge = Surge(
        area_code=area_code,
        zone_id=zone_id,
        start_after=start_after,
        ramp_up=timedelta(minutes=25),
        hold=timedelta(minutes=20),
        ramp_down=timedelta(minutes=30),
        peak_density_per_m2=6.8,
    )
    return Scenario(
        "alley_crush",
        f"crush in {zone_id}: above 6/m² in 25 minutes while {area_code}'s telecom count is calm",
        surges=(surge,),
        suggested_duration=start_after + timedelta(hours=2),
    )


def sensor_faults(
    sdot_sensor: str = "V02Q1940612", start_after: timedelta = timedelta(minutes=5)
) -> Scenario:
    """An ordinary hour with every fault kind on named devices and every malformed payload."""

    def window(minutes: int, length: int) -> tuple[timedelta, timedelta]:
        return start_after + timedelta(minutes=minutes), timedelta(minutes=length)

    faults = (
        DeviceFault("dropout", "POI014-Z1-cam1", *window(0, 20)),
        DeviceFault("dropout", "POI072", *window(10, 30)),
        DeviceFault("stuck", "POI007-Z1-cam1", *window(5, 30)),
        DeviceFault("spike", "POI055-Z1-cam1", *window(0, 40)),
        DeviceFault("duplicate", "POI014", *window(0, 30)),
        DeviceFault("duplicate", "POI047-Z1-cam1", *window(10, 10)),
        DeviceFault("out_of_order", "POI072-Z1-cam1", *window(5, 15), shift=timedelta(minutes=3)),
        DeviceFault("clock_skew", sdot_sensor, *window(0, 40), shift=timedelta(minutes=10)),
        DeviceFault("clock_skew", "POI001-Z1-cam1", *window(20, 20), shift=-timedelta(minutes=7)),
    )
    malformed = tuple(
        MalformedAt(defect, start_after + timedelta(minutes=3 * i + 1))
        for i, defect in enumerate(DEFECT_KINDS)
    )
    return Scenario(
        "sensor_faults",
        "dropout, stuck, spikes, duplicates, out-of-order, clock skew and malformed payloads",
        faults=FaultPlan(device_faults=faults, malformed=malformed),
        suggested_duration=start_after + timedelta(minutes=55),
    )


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "normal_day": normal_day,
    "festival": festival,
    "alley_crush": alley_crush,
    "sensor_faults": sensor_faults,
}
