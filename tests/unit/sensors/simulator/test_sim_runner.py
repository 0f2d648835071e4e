import logging
from datetime import datetime, timedelta

import pytest

from citypulse.domain.korea_time import KST
from sensors.publisher import ListSink
from sensors.simulator import normal_day, sensor_faults, simulate
from sensors.simulator.records import MalformedPayload
from sensors.simulator.runner import run_paced

START = datetime(2026, 6, 10, 8, 0, tzinfo=KST)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class RawListSink(ListSink):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[tuple[bytes | None, bytes]] = []

    def publish_raw(self, key: bytes | None, value: bytes) -> None:
        self.raw.append((key, value))


@pytest.mark.parametrize(
    ("speed", "max_rate", "expected_wall_s"),
    [
        (60.0, None, 19 * 60 / 60),  # last event at 08:19:xx: about 19 s at speed 60
        (600.0, None, 19 * 60 / 600),
        (None, 100.0, None),  # rate-capped: events / 100 s
    ],
)
def test_pacing(speed: float | None, max_rate: float | None, expected_wall_s: float | None) -> None:
    clock = FakeClock()
    sink = ListSink()
    items = list(
        simulate(normal_day().only(frozenset({"POI014"})), START, timedelta(minutes=20), seed=1)
    )
    report = run_paced(
        items, sink, start=START, speed=speed, max_rate=max_rate, clock=clock, sleep=clock.sleep
    )
    assert report.events == len(items) == len(sink.events)
    last = (items[-1].ingest_time - START).total_seconds()  # type: ignore[union-attr]
    if expected_wall_s is None:
        assert clock.now == pytest.approx((len(items) - 1) / 100.0)
    else:
        assert clock.now == pytest.approx(last / speed)  # type: ignore[operator]
        assert clock.now == pytest.approx(expected_wall_s, abs=1.0)


def test_malformed_go_raw_or_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    scenario = sensor_faults()
    items = list(simulate(scenario, START, timedelta(minutes=40), seed=1))
    n_bad = sum(isinstance(i, MalformedPayload) for i in items)
    raw_sink = RawListSink()
    report = run_paced(items, raw_sink, start=START, speed=None)
    assert report.malformed == len(raw_sink.raw) == n_bad == 8
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="sensors.simulator.runner"):
        skipped = run_paced(
            items,
            ListSink(),
            start=START,
            speed=60.0,
            progress_every_s=5.0,
            clock=clock,
            sleep=clock.sleep,
        )
    assert skipped.skipped_malformed == n_bad
    assert any("events/s" in r.getMessage() for r in caplog.records)  # progress lines
    assert any("skipped" in r.getMessage() for r in caplog.records)
