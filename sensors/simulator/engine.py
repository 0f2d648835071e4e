"""The simulated city: true crowd dynamics per area and zone, sampled by each device.

Every simulated minute the whole city advances at once (numpy over areas, zones and
sensors); devices then report at their cadence and their own second within the minute:
telecom estimates every 5 minutes, zone counters every minute, S-DoT every 2 minutes.
All randomness comes from one seeded numpy Generator, so a seed replays the same city.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from citypulse.domain.comfort import COMFORT_LEVELS
from citypulse.domain.korea_time import KST
from sensors.registry import Hotspot, load_hotspots
from sensors.simulator.faults import FaultInjector, malformed_payload
from sensors.simulator.profile import HOURS, CityCalibration, day_type, load_calibration
from sensors.simulator.records import Emission, EmissionKind, MalformedPayload
from sensors.simulator.scenarios import Scenario, Surge
from sensors.simulator.sdot import SdotSensor, load_sdot_sensors
from sensors.simulator.wire import DeviceTables, EventRenderer
from sensors.simulator.zones import Zone, default_zones

Array = npt.NDArray[np.float64]
MINUTE = timedelta(minutes=1)
TELECOM_EVERY_MIN = 5
SDOT_EVERY_MIN = 2
AREA_MEMORY_MIN = 30.0  # correlation time of an area's deviation from its usual day
ZONE_MEMORY_MIN = 10.0
ZONE_NOISE = 0.10
COUNTER_NOISE = 0.03
TELECOM_NOISE = 0.01
TELECOM_HALF_RANGE = 0.05  # Seoul's AREA_PPLTN_MIN/MAX span about ±5 % around the estimate
SURGE_NOISE = 0.02
SDOT_REACH_M2 = math.pi * 50.0**2  # a Wi-Fi visitor counter hears phones within ~50 m
SDOT_DETECTION = 0.6  # share of people near the sensor whose phone it counts
# Seoul's FCST_PPLTN: the next 12 whole hours, refreshed on the telecom reading at :00 and
# :30 (and on the first reading of a run, so a fresh demo shows one at once).
FORECAST_HOURS = 12
FORECAST_EVERY_MIN = 30

SimItem = Emission | MalformedPayload
Slot = tuple[int, int, int]  # (second of the minute, kind index, device index)
Rows = list[tuple[int | float | str | None, ...]]
KINDS: tuple[EmissionKind, ...] = ("population_estimate", "zone_count", "environment_reading")


@dataclass(frozen=True)
class City:
    """The static world: hotspots, their calibration, zones and S-DoT sensors."""

    hotspots: tuple[Hotspot, ...]
    calibration: CityCalibration
    zones: tuple[Zone, ...]
    sensors: tuple[SdotSensor, ...]


@lru_cache(maxsize=1)
def default_city() -> City:
    hotspots = tuple(load_hotspots())
    calibration = load_calibration()
    return City(
        hotspots,
        calibration,
        tuple(default_zones(hotspots, calibration)),
        tuple(load_sdot_sensors()),
    )


def _second_of(device_id: str) -> int:
    return zlib.crc32(device_id.encode()) % 60


def _telecom_range(people: Array) -> tuple[list[int], list[int]]:
    """Round a ±5 % band outward to two significant digits, as Seoul's ranges look."""
    p = np.maximum(people, 1.0)
    quantum = 10.0 ** np.maximum(1, np.floor(np.log10(p)) - 1)
    lo = np.floor(p * (1 - TELECOM_HALF_RANGE) / quantum) * quantum
    hi = np.ceil(p * (1 + TELECOM_HALF_RANGE) / quantum) * quantum
    return lo.astype(np.int64).tolist(), np.maximum(hi, lo + quantum).astype(np.int64).tolist()


class CitySimulator:
    """Emissions of one scenario from `start`, in event-time order (faults aside)."""

    def __init__(
        self,
        scenario: Scenario,
        start: datetime,
        seed: int,
        city: City | None = None,
        run_id: str = "",
    ) -> None:
        """`run_id` goes in front of every event id, so a run repeated with the same seed
        (a drill run again) sends new ids, not duplicates."""
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.scenario = scenario
        self.start = start.astimezone(KST).replace(second=0, microsecond=0)
        self.seed = seed
        self.run_id = run_id
        self.rng = np.random.default_rng(seed)
        city = city or default_city()
        wanted = scenario.area_codes
        self.hotspots = [h for h in city.hotspots if wanted is None or h.code in wanted]
        index = {h.code: i for i, h in enumerate(self.hotspots)}
        self.zones = [z for z in city.zones if z.area_code in index]
        self.sensors = [s for s in city.sensors if s.area_code in index]
        self.devices = DeviceTables(tuple(index), tuple(self.zones), tuple(self.sensors))
        self.renderer = EventRenderer(self.devices)
        profiles = [city.calibration.profile(h.code) for h in self.hotspots]
        self.profiles = profiles
        self.level = np.array([p.level for p in profiles])
        self.shapes = {
            "weekday": np.array([p.weekday for p in profiles]).reshape(-1, HOURS),
            "weekend": np.array([p.weekend for p in profiles]).reshape(-1, HOURS),
        }
        self.noise = np.array([p.noise for p in profiles])
        self.label_cuts = np.array([p.label_cuts for p in profiles]).reshape(-1, 3)
        self.walkable = np.array([h.walkable_m2 for h in self.hotspots])
        self.zone_area = np.array([index[z.area_code] for z in self.zones], dtype=np.int64)
        self.zone_share = np.array([z.share for z in self.zones])
        self.zone_m2 = np.array([z.walkable_m2 for z in self.zones])
        self.sensor_area = np.array([index[s.area_code] for s in self.sensors], dtype=np.int64)
        area_m2 = np.array([h.area_m2 for h in self.hotspots])
        self.sensor_reach = np.minimum(SDOT_REACH_M2 / area_m2[self.sensor_area], 1.0)
        self.sensor_warmth = self.rng.normal(0.0, 0.8, len(self.sensors))
        self._surges = [self._peak_extra(s, index) for s in scenario.surges]
        self._area_index = index
        self._orders = self._tick_orders(scenario.kinds)

    # -- the world ---------------------------------------------------------------------
    def usual_people(self, when: datetime) -> Array:
        """Each area's calibrated expectation at `when` (no noise, no scenario)."""
        local = when.astimezone(KST)
        pos = local.hour + local.minute / 60 + local.second / 3600 - 0.5
        lo = math.floor(pos)
        frac = pos - lo
        day_lo = local.date() + timedelta(days=lo // HOURS)
        day_hi = local.date() + timedelta(days=(lo + 1) // HOURS)
        f_lo = self.shapes[day_type(day_lo)][:, lo % HOURS]
        f_hi = self.shapes[day_type(day_hi)][:, (lo + 1) % HOURS]
        result: Array = self.level * (f_lo * (1 - frac) + f_hi * frac)
        return result

    def _peak_extra(self, surge: Surge, index: dict[str, int]) -> tuple[Surge, int, int, float]:
        """Extra people at the top of a surge so the target reaches its peak density."""
        a = index[surge.area_code]
        usual = float(self.usual_people(self.start + surge.peak_after)[a])
        if surge.zone_id is None:
            return surge, a, -1, max(0.0, surge.peak_density_per_m2 * self.walkable[a] - usual)
        z = next(i for i, zone in enumerate(self.zones) if zone.zone_id == surge.zone_id)
        target = surge.peak_density_per_m2 * self.zone_m2[z]
        return surge, a, z, max(0.0, target - self.zone_share[z] * usual)

    def _tick_orders(
        self, kinds: frozenset[EmissionKind]
    ) -> dict[tuple[bool, int], list[tuple[int, int, int]]]:
        """Which devices report in a minute, sorted by their second: (second, kind, device)."""
        orders: dict[tuple[bool, int], list[Slot]] = {}
        for telecom in (False, True):
            for parity in (0, 1):
                rows: list[Slot] = []
                if telecom and "population_estimate" in kinds:
                    rows += [(0, 0, a) for a in range(len(self.hotspots))]
                if "zone_count" in kinds:
                    rows += [(_second_of(z.counter_id), 1, i) for i, z in enumerate(self.zones)]
                if "environment_reading" in kinds:
                    rows += [
                        (_second_of(s.sensor_id), 2, i)
                        for i, s in enumerate(self.sensors)
                        if (parity + zlib.crc32(s.sensor_id.encode())) % SDOT_EVERY_MIN == 0
                    ]
                orders[(telecom, parity)] = sorted(rows)
        return orders

    # -- emissions ---------------------------------------------------------------------
    def emissions(self, duration: timedelta) -> Iterator[Emission]:
        """Clean readings of every device, minute by minute, in event-time order."""
        rng = self.rng
        n_areas, n_zones = len(self.hotspots), len(self.zones)
        phi_a = math.exp(-1.0 / AREA_MEMORY_MIN)
        phi_z = math.exp(-1.0 / ZONE_MEMORY_MIN)
        x = rng.normal(0.0, 1.0, n_areas) * self.noise
        y = rng.normal(0.0, ZONE_NOISE, n_zones)
        seconds = [timedelta(seconds=s) for s in range(60)]
        prefix = f"{self.run_id + '-' if self.run_id else ''}{self.scenario.name}-{self.seed}-"
        seq = 0
        forecast_pending = True
        device_ids = (
            self.devices.areas,
            tuple(z.counter_id for z in self.zones),
            tuple(s.sensor_id for s in self.sensors),
        )
        for k in range(int(duration / MINUTE)):
            t = self.start + k * MINUTE
            x = phi_a * x + math.sqrt(1 - phi_a**2) * self.noise * rng.standard_normal(n_areas)
            y = phi_z * y + math.sqrt(1 - phi_z**2) * ZONE_NOISE * rng.standard_normal(n_zones)
            base = self.usual_people(t) * np.exp(x)
            area_extra = np.zeros(n_areas)
            zone_extra = np.zeros(n_zones)
            for surge, a, z, peak in self._surges:
                extra = (
                    peak
                    * surge.envelope(t - self.start)
                    * (1 + SURGE_NOISE * rng.standard_normal())
                )
                area_extra[a] += extra
                if z >= 0:
                    zone_extra[z] += extra
            # A zone holds its share of the usual crowd; a festival crowd spreads evenly.
            zone_true = (
                self.zone_share * base[self.zone_area] * np.exp(y)
                + area_extra[self.zone_area] * self.zone_m2 / self.walkable[self.zone_area]
                + zone_extra
            )
            area_people = base + area_extra
            counts = np.rint(
                np.maximum(zone_true * (1 + COUNTER_NOISE * rng.standard_normal(n_zones)), 0)
            )
            values: list[Rows] = [[], [], []]
            minute_of_clock = int(t.timestamp() // 60)
            telecom = minute_of_clock % TELECOM_EVERY_MIN == 0
            if telecom:
                forecast_due = forecast_pending or minute_of_clock % FORECAST_EVERY_MIN == 0
                forecasts = self.seoul_forecasts(t, x) if forecast_due else None
                forecast_pending = False
                values[0] = self._telecom_values(area_people, forecasts)
            values[1] = [(c,) for c in counts.astype(np.int64).tolist()]
            values[2] = self._sdot_values(t, area_people)
            times = [t + s for s in seconds]
            for second, kind, device in self._orders[(telecom, minute_of_clock % SDOT_EVERY_MIN)]:
                when = times[second]
                yield Emission(
                    KINDS[kind],
                    device,
                    device_ids[kind][device],
                    when,
                    when,
                    f"{prefix}{seq}",
                    values[kind][device],
                )
                seq += 1

    def _labels(self, people: Array) -> list[str]:
        ratio = people / self.level
        label_index = (ratio[:, None] >= self.label_cuts).sum(axis=1).tolist()
        return [COMFORT_LEVELS[j] for j in label_index]

    def _telecom_values(self, people: Array, forecasts: list[str] | None = None) -> Rows:
        estimate = people * (1 + TELECOM_NOISE * self.rng.standard_normal(len(people)))
        lo, hi = _telecom_range(estimate)
        labels = self._labels(estimate)
        if forecasts is None:
            return [(lo[i], hi[i], label) for i, label in enumerate(labels)]
        return [(lo[i], hi[i], label, forecasts[i]) for i, label in enumerate(labels)]

    def seoul_forecasts(self, t: datetime, deviation: Array) -> list[str]:
        """Each area's Seoul-style forecast at `t` as the event's JSON array: the next
        FORECAST_HOURS whole hours, the usual crowd with today's deviation fading
        (Seoul's forecast knows the day's pattern, not a surge that has not begun)."""
        first = t.astimezone(KST).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        hours = [first + timedelta(hours=h) for h in range(FORECAST_HOURS)]
        columns: list[list[str]] = []
        for when in hours:
            fade = math.exp(-(when - t).total_seconds() / 60 / AREA_MEMORY_MIN)
            expected = self.usual_people(when) * np.exp(deviation * fade)
            lo, hi = _telecom_range(expected)
            labels = self._labels(expected)
            at = when.isoformat()
            columns.append(
                [
                    f'{{"time":"{at}","people_min":{lo[i]},"people_max":{hi[i]},'
                    f'"congestion_level":{json.dumps(labels[i], ensure_ascii=False)}}}'
                    for i in range(len(labels))
                ]
            )
        return ["[" + ",".join(col[i] for col in columns) + "]" for i in range(len(self.level))]

    def _sdot_values(self, t: datetime, people: Array) -> Rows:
        n = len(self.sensors)
        if n == 0:
            return []
        rng = self.rng
        hour = t.astimezone(KST).hour + t.minute / 60
        daily = math.sin(2 * math.pi * (hour - 9) / 24)  # warmest mid-afternoon
        visitors = rng.poisson(people[self.sensor_area] * self.sensor_reach * SDOT_DETECTION)
        temp = np.round(23.0 + 4.0 * daily + self.sensor_warmth + 0.2 * rng.standard_normal(n), 1)
        humidity = np.round(np.clip(68.0 - 14.0 * daily + 2.0 * rng.standard_normal(n), 5, 100), 1)
        pm10 = np.round(np.maximum(32.0 + 6.0 * rng.standard_normal(n), 1.0), 1)
        pm25 = np.round(pm10 * 0.55, 1)
        noise_db = np.round(42.0 + 6.0 * np.log10(1.0 + visitors) + rng.standard_normal(n), 1)
        return list(
            zip(
                pm10.tolist(),
                pm25.tolist(),
                temp.tolist(),
                humidity.tolist(),
                noise_db.tolist(),
                visitors.tolist(),
                strict=True,
            )
        )

    # -- scenario stream ---------------------------------------------------------------
    def items(self, duration: timedelta) -> Iterator[SimItem]:
        """Emissions with the scenario's faults applied and malformed payloads interleaved."""
        plan = self.scenario.faults
        stream: Iterator[Emission] = self.emissions(duration)
        if plan.device_faults:
            injector = FaultInjector(plan, self.start, np.random.default_rng([self.seed, 1]))
            stream = injector.apply(stream)
        if not plan.malformed:
            yield from stream
            return
        pending = sorted(plan.malformed, key=lambda m: m.after)
        last_zone: Emission | None = None
        for em in stream:
            while (
                pending
                and last_zone is not None
                and em.ingest_time >= self.start + pending[0].after
            ):
                defect = pending.pop(0)
                yield malformed_payload(
                    defect.defect,
                    self.renderer.key(last_zone),
                    self.renderer.encode(last_zone),
                    self.start + defect.after,
                )
            if em.kind == "zone_count":
                last_zone = em
            yield em
