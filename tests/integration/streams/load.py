"""Load for the stream worker's crash tests: simulated city events, what they must add up to.

The expected database contents are computed here from the produced bytes alone (decoded
with the event schema, bucketed by minute), never through the worker's own code path.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import islice

import psycopg

from citypulse.config import StackSettings
from citypulse.topics import CITY_EVENTS
from sensors.events import PopulationEstimate, ZoneCount, decode_event
from sensors.simulator import normal_day, simulate_encoded
from sensors.simulator.bulk_publisher import publish_encoded
from sensors.simulator.records import EmissionKind
from streams.batch import bucket_of
from tests.integration.support import wait_for

Pair = tuple[bytes | None, bytes]
WindowKey = tuple[str, str, str, datetime]  # area, zone ('' for the area), source, minute
Conn = psycopg.Connection[tuple[object, ...]]
CROWD_KINDS: frozenset[EmissionKind] = frozenset(
    {"population_estimate", "zone_count"}
)  # kinds with a crowd_readings row

# A restarted worker rejoins its group as soon as the broker drops the killed member.
FAST_REJOIN = {"CITYPULSE_SESSION_TIMEOUT_S": "6", "CITYPULSE_GROUP_HEARTBEAT_S": "1"}


def crowd_pairs(count: int, seed: int = 4) -> list[Pair]:
    """`count` encoded telecom estimates and zone counts of the whole simulated city."""
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=30)
    sim = simulate_encoded(
        normal_day().only(kinds=CROWD_KINDS), start, timedelta(hours=29), seed=seed
    )
    pairs = list(islice(sim, count))
    assert len(pairs) == count, f"the simulation gave only {len(pairs)} events"
    return pairs


def expected_windows(pairs: list[Pair]) -> Counter[WindowKey]:
    """Samples per 1-minute window that the database must hold for these valid events."""
    windows: Counter[WindowKey] = Counter()
    for _, value in pairs:
        event = decode_event(value)
        if isinstance(event, PopulationEstimate):
            windows[(event.area_code, "", "telecom", bucket_of(event.event_time))] += 1
        elif isinstance(event, ZoneCount):
            key = (event.area_code, event.zone_id, "zone_counter", bucket_of(event.event_time))
            windows[key] += 1
    return windows


def stored_windows(db: Conn) -> Counter[WindowKey]:
    rows = db.execute(
        "SELECT area_code, zone_id, source, bucket, samples FROM crowd_stats_1m"
    ).fetchall()
    return Counter({(str(a), str(z), str(s), b): int(str(n)) for a, z, s, b, n in rows})  # type: ignore[misc]


def reading_rows(db: Conn) -> int:
    row = db.execute("SELECT count(*) FROM crowd_readings").fetchone()
    return int(str(row[0])) if row else 0


def committed(db: Conn) -> int:
    """Records the worker has written, by the offsets stored with them."""
    row = db.execute("SELECT coalesce(sum(next_offset), 0) FROM stream_offsets").fetchone()
    return int(str(row[0])) if row else 0


class BackgroundProducer:
    """Publishes pairs at full speed on a thread, so the test can break things meanwhile."""

    def __init__(self, pairs: list[Pair], bootstrap: str, topic: str) -> None:
        self.acked = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(pairs, bootstrap, topic), daemon=True
        )

    def _run(self, pairs: list[Pair], bootstrap: str, topic: str) -> None:
        try:
            self.acked = asyncio.run(publish_encoded(pairs, bootstrap, topic))
        except BaseException as exc:  # reported by join()
            self.error = exc

    def start(self) -> BackgroundProducer:
        self._thread.start()
        return self

    def join(self, timeout_s: float = 120) -> int:
        self._thread.join(timeout_s)
        if self.error is not None:
            raise self.error
        assert not self._thread.is_alive(), "the producer did not finish"
        return self.acked


def progress(db: Conn, total: int) -> Callable[[], str]:
    return lambda: f"{committed(db)} of {total} records committed"


class CrowdRun:
    """`events` simulated crowd events for the topic of `settings`, and what the database
    must hold once a worker has stored them: the run the crash and restart tests share."""

    def __init__(self, settings: StackSettings, events: int, seed: int = 4) -> None:
        self.settings = settings
        self.events = events
        self.pairs = crowd_pairs(events, seed)
        self.expected = expected_windows(self.pairs)

    def producer(self) -> BackgroundProducer:
        topic = self.settings.topic(CITY_EVENTS.suffix)
        return BackgroundProducer(self.pairs, self.settings.kafka_bootstrap, topic)

    def wait_for_a_fifth(self, db: Conn) -> None:
        wait_for(
            lambda: committed(db) >= self.events // 5, 120, "a fifth of the run",
            progress(db, self.events),
        )  # fmt: skip

    def wait_for_all(self, db: Conn) -> None:
        wait_for(
            lambda: committed(db) == self.events, 180, "every record", progress(db, self.events)
        )

    def assert_stored_exactly(self, db: Conn) -> None:
        """Every window exact and every reading once: nothing lost, nothing twice."""
        assert stored_windows(db) == self.expected
        assert reading_rows(db) == self.events
