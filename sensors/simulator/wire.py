"""Render emissions as `sensors.events` objects or, fast, as the exact bytes encode_event gives.

The fast path fills per-device JSON templates instead of building pydantic models; a unit
test holds it byte-for-byte equal to `encode_event(event(...))` for every kind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from sensors.events import CityEvent, EnvironmentReading, PopulationEstimate, ZoneCount
from sensors.simulator.records import Emission
from sensors.simulator.sdot import SdotSensor
from sensors.simulator.zones import Zone

SOURCE = "simulator"
COUNTER_CONFIDENCE = 0.9  # CCTV people counters miss some people in dense crowds


@dataclass(frozen=True)
class DeviceTables:
    """Who device i of each kind is; indices match Emission.device."""

    areas: tuple[str, ...]
    zones: tuple[Zone, ...]
    sensors: tuple[SdotSensor, ...]


@lru_cache(maxsize=4096)
def _iso(value: object) -> str:
    return value.isoformat()  # type: ignore[attr-defined,no-any-return]


def _js(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _num(value: object) -> str:
    return "null" if value is None else repr(value)


class EventRenderer:
    def __init__(self, devices: DeviceTables) -> None:
        self.devices = devices
        self._keys = (
            tuple(a.encode() for a in devices.areas),
            tuple(z.area_code.encode() for z in devices.zones),
            tuple(s.area_code.encode() for s in devices.sensors),
        )
        self._population_mid = tuple(f'"area_code":{_js(a)},' for a in devices.areas)
        self._zone_mid = tuple(
            f'"area_code":{_js(z.area_code)},"zone_id":{_js(z.zone_id)},'
            f'"counter_id":{_js(z.counter_id)},"count":'
            for z in devices.zones
        )
        self._zone_tail = tuple(
            f',"walkable_m2":{z.walkable_m2!r},"confidence":{COUNTER_CONFIDENCE!r}}}'
            for z in devices.zones
        )
        self._sensor_mid = tuple(
            f'"sensor_id":{_js(s.sensor_id)},"area_code":{_js(s.area_code)},'
            for s in devices.sensors
        )

    def event(self, em: Emission) -> CityEvent:
        """The validated event object; model_validate keeps the schema the single judge."""
        v = em.values
        fields: dict[str, object] = {
            "event_id": em.event_id,
            "source": SOURCE,
            "event_time": em.event_time,
            "ingest_time": em.ingest_time,
        }
        if em.kind == "zone_count":
            z = self.devices.zones[em.device]
            fields |= {
                "area_code": z.area_code,
                "zone_id": z.zone_id,
                "counter_id": z.counter_id,
                "count": v[0],
                "walkable_m2": z.walkable_m2,
                "confidence": COUNTER_CONFIDENCE,
            }
            return ZoneCount.model_validate(fields)
        if em.kind == "population_estimate":
            fields |= {
                "area_code": self.devices.areas[em.device],
                "people_min": v[0],
                "people_max": v[1],
                "congestion_level": v[2],
                "forecast": json.loads(str(v[3])) if len(v) > 3 else [],
            }
            return PopulationEstimate.model_validate(fields)
        s = self.devices.sensors[em.device]
        names = ("pm10_ugm3", "pm25_ugm3", "temperature_c", "humidity_pct", "noise_db")
        fields |= dict(zip(names, v[:5], strict=True))
        fields |= {"sensor_id": s.sensor_id, "area_code": s.area_code, "visitor_count": v[5]}
        return EnvironmentReading.model_validate(fields)

    def key(self, em: Emission) -> bytes:
        table = 0 if em.kind == "population_estimate" else 1 if em.kind == "zone_count" else 2
        return self._keys[table][em.device]

    def encode(self, em: Emission) -> bytes:
        """Exactly `encode_event(self.event(em))`, without building the model."""
        head = (
            f'{{"kind":"{em.kind}","v":1,"event_id":{_js(em.event_id)},"source":"{SOURCE}",'
            f'"event_time":"{_iso(em.event_time)}","ingest_time":"{_iso(em.ingest_time)}",'
        )
        v = em.values
        if em.kind == "zone_count":
            body = f"{self._zone_mid[em.device]}{v[0]}{self._zone_tail[em.device]}"
        elif em.kind == "population_estimate":
            label = "null" if v[2] is None else _js(str(v[2]))
            forecast = v[3] if len(v) > 3 else "[]"  # already the JSON array (engine.py)
            body = (
                f'{self._population_mid[em.device]}"people_min":{v[0]},"people_max":{v[1]},'
                f'"congestion_level":{label},"replaced":false,"forecast":{forecast}}}'
            )
        else:
            body = (
                f'{self._sensor_mid[em.device]}"pm10_ugm3":{_num(v[0])},"pm25_ugm3":{_num(v[1])},'
                f'"temperature_c":{_num(v[2])},"humidity_pct":{_num(v[3])},'
                '"wind_direction_deg":null,"wind_speed_ms":null,"light_lux":null,'
                f'"uv_index":null,"noise_db":{_num(v[4])},"vibration_x_g":null,'
                f'"vibration_y_g":null,"vibration_z_g":null,"visitor_count":{_num(v[5])}}}'
            )
        return (head + body).encode()
