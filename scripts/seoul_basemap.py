"""Builds the dashboard's offline base layer from KOSTAT's 2013 Seoul district borders.

Input: `kostat/2013/json/seoul_municipalities_geo.json` and `..._geo_simple.json` of
github.com/southkorea/seoul-maps (Apache-2.0; data: KOSTAT census boundaries, 2013).
Output: `dashboard_api/web/basemap/seoul_districts.geojson` (the simplified borders,
5 decimals, about 1 m) and `seoul_han_river.geojson`. The Han river is not in the
dataset; district borders run down its middle, so its centreline is derived here as the
borders shared by a district north of the river and one south of it.
Run: python scripts/seoul_basemap.py FULL.json SIMPLE.json
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "dashboard_api" / "web" / "basemap"
NORTH_BANK = {"마포구", "용산구", "성동구", "광진구"}
SOUTH_BANK = {"강서구", "영등포구", "동작구", "서초구", "강남구", "송파구", "강동구"}
Point = tuple[float, float]


def rings(geometry: dict) -> list[list[Point]]:
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    return [[(round(x, 7), round(y, 7)) for x, y in ring] for poly in polys for ring in poly]


def edges(feature: dict) -> set[frozenset[Point]]:
    out = set()
    for ring in rings(feature["geometry"]):
        out.update(frozenset((a, b)) for a, b in itertools.pairwise(ring) if a != b)
    return out


def chains(segments: set[frozenset[Point]]) -> list[list[Point]]:
    """Joins undirected segments into the longest simple lines they make."""
    nbrs: dict[Point, list[Point]] = {}
    for seg in segments:
        a, b = tuple(seg)
        nbrs.setdefault(a, []).append(b)
        nbrs.setdefault(b, []).append(a)
    seen: set[frozenset[Point]] = set()
    lines = []
    starts = [p for p, n in nbrs.items() if len(n) != 2] + list(nbrs)
    for start in starts:
        for nxt in nbrs[start]:
            if frozenset((start, nxt)) in seen:
                continue
            line = [start]
            cur, prev = nxt, start
            seen.add(frozenset((start, nxt)))
            line.append(cur)
            while len(nbrs[cur]) == 2:
                step = next(p for p in nbrs[cur] if p != prev)
                if frozenset((cur, step)) in seen:
                    break
                seen.add(frozenset((cur, step)))
                prev, cur = cur, step
                line.append(cur)
            lines.append(line)
    return lines


def simplify(line: list[Point], tol: float) -> list[Point]:
    """Ramer-Douglas-Peucker in degrees (tol 0.0002 is about 20 m)."""
    if len(line) < 3:
        return line
    (x0, y0), (x1, y1) = line[0], line[-1]
    dx, dy = x1 - x0, y1 - y0
    norm = math.hypot(dx, dy) or 1e-12
    dists = [abs(dy * (x - x0) - dx * (y - y0)) / norm for x, y in line[1:-1]]
    i = max(range(len(dists)), key=dists.__getitem__)
    if dists[i] <= tol:
        return [line[0], line[-1]]
    return simplify(line[: i + 2], tol)[:-1] + simplify(line[i + 1 :], tol)


def main(full_path: str, simple_path: str) -> None:
    full = json.loads(Path(full_path).read_text())["features"]
    simple = json.loads(Path(simple_path).read_text())["features"]
    north = set().union(*(edges(f) for f in full if f["properties"]["name"] in NORTH_BANK))
    south = set().union(*(edges(f) for f in full if f["properties"]["name"] in SOUTH_BANK))
    river = [simplify(c, 0.0002) for c in chains(north & south) if len(c) > 3]
    districts = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": f["properties"]["code"],
                    "name_ko": f["properties"]["name"],
                    "name_en": f["properties"]["name_eng"],
                },
                "geometry": {
                    "type": f["geometry"]["type"],
                    "coordinates": json.loads(
                        json.dumps(f["geometry"]["coordinates"]),
                        parse_float=lambda v: round(float(v), 5),
                    ),
                },
            }
            for f in simple
        ],
    }
    han = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name_ko": "한강", "name_en": "Han River"},
                "geometry": {
                    "type": "MultiLineString",
                    "coordinates": [[[round(x, 5), round(y, 5)] for x, y in c] for c in river],
                },
            }
        ],
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "seoul_districts.geojson").write_text(json.dumps(districts, ensure_ascii=False))
    (OUT / "seoul_han_river.geojson").write_text(json.dumps(han, ensure_ascii=False))
    print(len(districts["features"]), "districts;", sum(len(c) for c in river), "river points")  # noqa: T201


if __name__ == "__main__":
    main(*sys.argv[1:3])
