"""`citypulse replay` of the real hourly 121-area log into the real broker."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from citypulse.config import REPO_ROOT, StackSettings
from sensors.adapters.reject import split_rejects
from sensors.adapters.seoul_logs import iter_hourly_log
from tests.integration.support import read_topic, run_cli, topic_names

HOURLY = (
    REPO_ROOT
    / ".."
    / "shared"
    / "data"
    / "seoul"
    / "citydata_hourly_121"
    / "seoul_population_log.csv"
)


@pytest.fixture
def hourly_log() -> Path:
    if not HOURLY.exists():
        pytest.skip(f"recorded data not found at {HOURLY} (../shared beside the repo)")
    return HOURLY


def test_replay_publishes_every_row_once_in_event_time_order(
    isolated: StackSettings, hourly_log: Path
) -> None:
    expected, _rejects = split_rejects(
        iter_hourly_log(hourly_log.read_text(encoding="utf-8-sig"), source_file=str(hourly_log))
    )
    assert len(expected) > 18_000

    done = run_cli(isolated, "replay", str(hourly_log), "--speed", "max", "--time-mode", "recorded")
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"replayed {len(expected)} events" in done.stdout

    msgs = read_topic(
        isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"],
        lambda ms: len(ms) >= len(expected), timeout_s=120,
    )  # fmt: skip
    events = [json.loads(m.value) for m in msgs]  # type: ignore[attr-defined]
    ids = [e["event_id"] for e in events]
    assert len(ids) == len(expected) == len(set(ids))  # every row exactly once
    assert set(ids) == {e.event_id for e in expected}
    # Event-time order as sent: within each partition (one area's order), times never go back.
    by_partition: dict[int, list[datetime]] = {}
    for m, e in zip(msgs, events, strict=True):
        by_partition.setdefault(m.partition, []).append(datetime.fromisoformat(e["event_time"]))  # type: ignore[attr-defined]
    for times in by_partition.values():
        assert times == sorted(times)
