"""What a live client asked to see: districts, areas, a minimum stage. Pure validation.

Filters come from query parameters or a client's `subscribe` message; both are checked
here against the known areas and districts, so nothing unvalidated reaches the hub.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from citypulse.domain.stages import STAGE_NAMES

STAGES = STAGE_NAMES
STAGE_RANK: dict[str, int] = {name: rank for rank, name in enumerate(STAGES)}
AREA_CODE = re.compile(r"^POI[0-9]{3}$")
MAX_LIST = 200
FILTER_KEYS = frozenset({"district", "areas", "min_stage", "zones"})


class FilterError(ValueError):
    """A filter that names an unknown area, district or stage, or is badly shaped."""


@dataclass(frozen=True)
class LiveFilter:
    districts: frozenset[str] = frozenset()  # empty: every district
    areas: frozenset[str] = frozenset()  # empty: every area
    min_stage: int = 0
    zones: bool = True  # also zone states (alleys, exits), not only whole areas

    def place_matches(self, area_code: str, district: str, is_zone: bool) -> bool:
        if is_zone and not self.zones:
            return False
        if self.areas and area_code not in self.areas:
            return False
        return not self.districts or district in self.districts


def _names(value: object, what: str) -> list[str]:
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise FilterError(f"{what} must be a string or a list of strings")
    if len(items) > MAX_LIST:
        raise FilterError(f"at most {MAX_LIST} {what}")
    return items


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "false", "0"}:
        return value.lower() in {"true", "1"}
    raise FilterError("zones must be true or false")


def parse_filter(
    raw: Mapping[str, object], known_areas: Collection[str], known_districts: Collection[str]
) -> LiveFilter:
    unknown = set(raw) - FILTER_KEYS
    if unknown:
        raise FilterError(f"unknown filter field(s): {', '.join(sorted(unknown))}")
    districts = _names(raw.get("district", []), "districts")
    bad = [d for d in districts if d not in known_districts]
    if bad:
        raise FilterError(f"unknown district: {bad[0][:40]}")
    areas = _names(raw.get("areas", []), "areas")
    for code in areas:
        if not AREA_CODE.match(code) or code not in known_areas:
            raise FilterError(f"unknown area: {code[:20]}")
    stage = raw.get("min_stage", "normal")
    if not isinstance(stage, str) or stage not in STAGE_RANK:
        raise FilterError(f"min_stage must be one of {', '.join(STAGES)}")
    zones = _flag(raw.get("zones", True))
    return LiveFilter(frozenset(districts), frozenset(areas), STAGE_RANK[stage], zones)
