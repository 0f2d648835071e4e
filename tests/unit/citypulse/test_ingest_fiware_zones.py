"""`citypulse ingest fiware --zones`: a standard entity (no walkableArea) gets its area
and walkable m² from the operator's zone list."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from citypulse.cli import ingest_cmd
from citypulse.settings import Settings
from sensors.events import CityEvent, ZoneCount

OFFICIAL = Path(__file__).parents[2] / "fixtures/sensors/fiware/smart-data-models"


class _Sink:
    def __init__(self) -> None:
        self.events: list[CityEvent] = []

    def publish(self, event: CityEvent) -> None:
        self.events.append(event)

    def close(self) -> None:
        return None


def _ingest(monkeypatch: pytest.MonkeyPatch, zones: str | None) -> tuple[int, _Sink]:
    sink = _Sink()
    monkeypatch.setattr(ingest_cmd, "_publisher", lambda settings: sink)
    args = argparse.Namespace(
        kind="fiware", path=str(OFFICIAL / "2025-example.json"), positions=None, zones=zones
    )
    return ingest_cmd.cmd_ingest(args, Settings.from_env()), sink


def test_zones_file_places_a_standard_entity(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    zones = tmp_path / "zones.csv"
    zones.write_text("zone_id,area_code,walkable_m2\nCrowdFlowObserved:Valladolid_1,POI003,480\n")
    rc, sink = _ingest(monkeypatch, str(zones))
    assert rc == 0
    (event,) = sink.events
    assert isinstance(event, ZoneCount)
    assert (event.area_code, event.walkable_m2, event.count) == ("POI003", 480.0, 100)


def test_without_zones_the_entity_outside_every_hotspot_is_rejected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rc, sink = _ingest(monkeypatch, None)
    assert rc == 0 and sink.events == []


def test_bad_zones_file_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    zones = tmp_path / "zones.csv"
    zones.write_text("zone_id,area_code,walkable_m2\nz,POI003,-1\n")
    rc, sink = _ingest(monkeypatch, str(zones))
    assert rc == 2 and sink.events == []
