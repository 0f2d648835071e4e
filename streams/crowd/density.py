"""Crowd density in persons per m² of walkable surface.

Above about 10 persons/m² people physically do not fit; such a number means a wrong
walkable area or a double-counting source. It is flagged, not clipped, so that the
operator sees the defect instead of a plausible-looking lie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

IMPLAUSIBLE_DENSITY_PER_M2 = 10.0


@dataclass(frozen=True)
class Density:
    per_m2: float
    plausible: bool


def density_per_m2(
    people: float, walkable_m2: float, implausible_above: float = IMPLAUSIBLE_DENSITY_PER_M2
) -> Density:
    if not math.isfinite(walkable_m2) or walkable_m2 <= 0:
        raise ValueError(f"walkable area must be a positive number of m², got {walkable_m2}")
    if not math.isfinite(people) or people < 0:
        raise ValueError(f"people must be a non-negative number, got {people}")
    value = people / walkable_m2
    return Density(value, value <= implausible_above)
