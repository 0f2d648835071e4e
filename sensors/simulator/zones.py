"""Default counting zones inside each hotspot: station exits, shopping streets, narrow alleys.

Area-wide telecom counts average a crush away; zone counters see it. Each zone carries its
walkable m² and the share of the area's people it holds on an ordinary day, so its density
follows the area's rhythm until a scenario drives it on its own.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sensors.registry import Hotspot
from sensors.simulator.profile import CityCalibration

# Ordinary-day ceiling of a zone's density at the area's busiest hour (persons/m²): below
# 관심 so that a normal day stays 정상 and only scenarios raise stages.
NORMAL_PEAK_DENSITY = 1.2


@dataclass(frozen=True)
class ZoneTemplate:
    kind: str
    name_ko: str
    walkable_m2: float
    concentration: float  # zone density / area density on an ordinary day
    narrow: bool = False


@dataclass(frozen=True)
class Zone:
    zone_id: str
    area_code: str
    kind: str
    name_ko: str
    walkable_m2: float
    share: float  # of the area's people, ordinary day
    narrow: bool

    @property
    def counter_id(self) -> str:
        return f"{self.zone_id}-cam1"


ZONES_BY_CATEGORY: dict[str, tuple[ZoneTemplate, ...]] = {
    "인구밀집지역": (
        ZoneTemplate("exit", "역 출구 앞", 600, 4.0),
        ZoneTemplate("street", "역앞 보행로", 1500, 2.5),
    ),
    "발달상권": (
        ZoneTemplate("street", "중심 상점가", 2000, 2.5),
        ZoneTemplate("alley", "먹자골목", 350, 3.0, narrow=True),
    ),
    "관광특구": (
        ZoneTemplate("street", "메인 거리", 3000, 2.5),
        ZoneTemplate("alley", "좁은 골목", 250, 3.0, narrow=True),
        ZoneTemplate("plaza", "광장", 2500, 2.0),
    ),
    "공원": (ZoneTemplate("gate", "주 출입구", 1200, 2.0),),
    "고궁·문화유산": (
        ZoneTemplate("gate", "정문 광장", 2000, 2.0),
        ZoneTemplate("path", "관람 동선", 1500, 1.5),
    ),
}
FALLBACK_ZONES = (ZoneTemplate("street", "보행로", 1000, 2.0),)

# Places whose real geometry is known to matter: the Itaewon alley of 29 Oct 2022 was
# about 3.2 m wide and 45 m long.
ZONE_OVERRIDES: dict[str, tuple[ZoneTemplate, ...]] = {
    "POI004": (
        ZoneTemplate("street", "세계음식거리", 2400, 2.5),
        ZoneTemplate("alley", "해밀톤호텔 옆 골목", 180, 3.0, narrow=True),
        ZoneTemplate("exit", "이태원역 1번 출구", 400, 3.0),
    ),
}


def _size_jitter(zone_id: str) -> float:
    """A stable 0.7-1.4 size factor per zone, so zones of one category are not clones."""
    return 0.7 + 0.7 * (zlib.crc32(zone_id.encode()) % 1000) / 1000


def default_zones(hotspots: Iterable[Hotspot], calibration: CityCalibration) -> list[Zone]:
    zones: list[Zone] = []
    for h in hotspots:
        templates = ZONE_OVERRIDES.get(h.code) or ZONES_BY_CATEGORY.get(h.category, FALLBACK_ZONES)
        profile = calibration.profile(h.code)
        peak_people = profile.level * max(max(profile.weekday), max(profile.weekend))
        for i, t in enumerate(templates, start=1):
            zone_id = f"{h.code}-Z{i}"
            size = 1.0 if h.code in ZONE_OVERRIDES else _size_jitter(zone_id)
            m2 = round(min(t.walkable_m2 * size, 0.2 * h.walkable_m2), 1)
            share = t.concentration * m2 / h.walkable_m2
            if peak_people * share / m2 > NORMAL_PEAK_DENSITY:
                share = NORMAL_PEAK_DENSITY * m2 / peak_people
            zones.append(Zone(zone_id, h.code, t.kind, t.name_ko, m2, share, t.narrow))
    return zones


def zones_of(zones: Sequence[Zone], area_code: str) -> list[Zone]:
    return [z for z in zones if z.area_code == area_code]
