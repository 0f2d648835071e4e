"""`python -m sensors.simulator`: --areas and --kinds limit what the city sends (the
`up` stack passes CITYPULSE_SIMULATE_AREAS / CITYPULSE_SIMULATE_FEEDS through them)."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from sensors.registry import load_hotspots
from sensors.simulator import __main__ as sim_main
from sensors.simulator.runner import PaceReport


def _events(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[object]:
    seen: list[object] = []

    def run_paced(items: Iterable[object], *_a: object, **_k: object) -> PaceReport:
        seen.extend(items)
        return PaceReport(events=len(seen), malformed=0, skipped_malformed=0, wall_s=0.0,
                          last_sim_time=None)  # fmt: skip

    monkeypatch.setattr(sim_main, "run_paced", run_paced)
    argv = ["normal_day", "--minutes", "6", "--dry-run", "--start", "2026-06-10T08:00", *args]
    assert sim_main.main(argv) == 0
    return seen


def test_areas_and_kinds_limit_the_city(monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _events(monkeypatch)
    assert {e.kind for e in everything} == {  # type: ignore[attr-defined]
        "population_estimate", "zone_count", "environment_reading",
    }  # fmt: skip
    limited = _events(monkeypatch, "--areas", "4", "--kinds", "zone_count,environment_reading")
    first = {h.code for h in load_hotspots()[:4]}
    assert limited and {e.kind for e in limited} <= {"zone_count", "environment_reading"}  # type: ignore[attr-defined]
    assert {e.area_code for e in limited} == first  # type: ignore[attr-defined]


def test_an_unknown_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SystemExit):
        _events(monkeypatch, "--kinds", "telecom")


def test_a_run_id_makes_every_event_id_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _events(monkeypatch)
    first = _events(monkeypatch, "--run-id", "abc123")
    again = _events(monkeypatch, "--run-id", "abc123")
    other = _events(monkeypatch, "--run-id", "def456")
    ids = [e.event_id for e in first]  # type: ignore[attr-defined]
    assert all(i.startswith("abc123-normal_day-0-") for i in ids)
    assert ids == [e.event_id for e in again]  # type: ignore[attr-defined]
    assert not set(ids) & {e.event_id for e in other}  # type: ignore[attr-defined]
    assert not set(ids) & {e.event_id for e in plain}  # type: ignore[attr-defined]
    # The same city otherwise: only the ids differ.
    assert [e.count for e in first if e.kind == "zone_count"] == [  # type: ignore[attr-defined]
        e.count
        for e in plain
        if e.kind == "zone_count"  # type: ignore[attr-defined]
    ]
