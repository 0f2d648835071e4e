"""S-DoT environment sensors at their real positions, limited to those inside a hotspot.

The shipped `sdot_sensors.csv` is cut from Seoul's list of 851 sensor positions
(`sdot_locations/sensor_longitude_latitude.csv`); `python -m sensors.simulator.sdot` rebuilds it.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sensors.registry import Hotspot, load_hotspots, locate

log = logging.getLogger(__name__)

SDOT_LOCATIONS = Path("sdot_locations") / "sensor_longitude_latitude.csv"
FIELDS = ("sensor_id", "lat", "lon", "area_code")


@dataclass(frozen=True)
class SdotSensor:
    sensor_id: str
    lat: float
    lon: float
    area_code: str


def sensors_in_hotspots(
    rows: Iterable[dict[str, str]], hotspots: Sequence[Hotspot]
) -> list[SdotSensor]:
    """Sensors (시리얼, 위도, 경도 rows) that lie inside a hotspot polygon, in file order."""
    out: list[SdotSensor] = []
    for row in rows:
        lat, lon = float(row["위도"]), float(row["경도"])
        spot = locate(lon, lat, hotspots)
        if spot is not None:
            out.append(SdotSensor(row["시리얼"].strip(), lat, lon, spot.code))
    return out


def load_sdot_sensors(path: Path | None = None) -> list[SdotSensor]:
    if path is None:
        text = resources.files("sensors.simulator").joinpath("sdot_sensors.csv").read_text("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return [
        SdotSensor(r["sensor_id"], float(r["lat"]), float(r["lon"]), r["area_code"])
        for r in csv.DictReader(io.StringIO(text))
    ]


def write_sdot_sensors(sensors: Iterable[SdotSensor], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(FIELDS)
        for s in sensors:
            writer.writerow((s.sensor_id, f"{s.lat:.8f}", f"{s.lon:.8f}", s.area_code))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rebuild sensors/simulator/sdot_sensors.csv")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/seoul"))
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("sdot_sensors.csv"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with (args.data / SDOT_LOCATIONS).open(encoding="utf-8-sig", newline="") as f:
        sensors = sensors_in_hotspots(csv.DictReader(f), load_hotspots())
    write_sdot_sensors(sensors, args.out)
    log.info(
        "wrote %s: %d sensors in %d areas",
        args.out,
        len(sensors),
        len({s.area_code for s in sensors}),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
