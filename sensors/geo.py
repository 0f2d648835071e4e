"""Pure geometry on WGS84 lon/lat rings: WKT parsing, geodesic area, point-in-polygon."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

LonLat = tuple[float, float]
Ring = tuple[LonLat, ...]

# Authalic radius of the WGS84 ellipsoid: a sphere of equal surface, so spherical
# polygon areas match ellipsoidal ones to well under 0.5 % at Seoul's latitude.
AUTHALIC_RADIUS_M = 6_371_007.181


class WktError(ValueError):
    pass


@dataclass(frozen=True)
class Polygon:
    """An outer ring with optional holes, coordinates as (lon, lat)."""

    outer: Ring
    holes: tuple[Ring, ...] = ()

    def area_m2(self) -> float:
        return ring_area_m2(self.outer) - sum(ring_area_m2(h) for h in self.holes)

    def contains(self, lon: float, lat: float) -> bool:
        if not point_in_ring(lon, lat, self.outer):
            return False
        return not any(point_in_ring(lon, lat, h) for h in self.holes)

    def centroid(self) -> LonLat:
        """Vertex mean of the outer ring: good enough to place a label or a sensor."""
        pts = self.outer[:-1] if self.outer[0] == self.outer[-1] else self.outer
        return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))

    def bbox(self) -> tuple[float, float, float, float]:
        lons = [p[0] for p in self.outer]
        lats = [p[1] for p in self.outer]
        return (min(lons), min(lats), max(lons), max(lats))

    def to_geojson(self) -> dict[str, object]:
        rings = [self.outer, *self.holes]
        return {"type": "Polygon", "coordinates": [[list(p) for p in r] for r in rings]}


_RING = re.compile(r"\(([^()]*)\)")


def parse_wkt_polygon(wkt: str) -> Polygon:
    text = wkt.strip()
    if not text.upper().startswith("POLYGON"):
        raise WktError(f"not a POLYGON: {text[:30]!r}")
    rings: list[Ring] = []
    for body in _RING.findall(text):
        pts: list[LonLat] = []
        for pair in body.split(","):
            parts = pair.split()
            if len(parts) != 2:
                raise WktError(f"bad coordinate {pair.strip()!r}")
            lon, lat = float(parts[0]), float(parts[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise WktError(f"coordinate out of range {pair.strip()!r}")
            pts.append((lon, lat))
        if len(pts) < 4:
            raise WktError("a ring needs at least 4 points")
        rings.append(tuple(pts))
    if not rings:
        raise WktError("no ring found")
    return Polygon(outer=rings[0], holes=tuple(rings[1:]))


def ring_area_m2(ring: Sequence[LonLat]) -> float:
    """Area of a closed lon/lat ring on the authalic sphere (Chamberlain-Duquette)."""
    n = len(ring)
    if n < 3:
        return 0.0
    total = 0.0
    for i in range(n):
        lon1, lat1 = ring[i]
        lon2, lat2 = ring[(i + 1) % n]
        total += math.radians(lon2 - lon1) * (
            2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return abs(total * AUTHALIC_RADIUS_M**2 / 2.0)


def point_in_ring(lon: float, lat: float, ring: Sequence[LonLat]) -> bool:
    """Even-odd ray casting; fine for city-sized rings far from the antimeridian."""
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > lat) != (yj > lat):
            x_cross = xi + (lat - yi) * (xj - xi) / (yj - yi)
            if lon < x_cross:
                inside = not inside
        j = i
    return inside
