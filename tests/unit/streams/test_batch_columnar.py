"""The columnar path (`BatchProcessor._lean_run`) gives what the record-by-record loop
(`_each`) gives: the same rows, partials, events, times, dead letters with their reasons,
offsets, watermarks and remembered ids, batch after batch, whatever the runs hold.

Each scenario runs the same batches through two processors, one with the columnar path
and one with it switched off (`_LEAN_RUN` beyond any run), and compares everything.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

import streams.batch
from sensors.registry import hotspots_by_code
from streams.batch import BatchProcessor, BatchResult, RawRecord, ValidationPolicy
from tests.hostile_events import HostileFeed, valid_event

NOW = datetime(2026, 6, 13, 4, 0, 30, tzinfo=UTC)
AREAS = sorted(hotspots_by_code())
LABELS = ["여유", "보통", "약간 붐빔", "붐빔"]
DEFECTS = 15


class Feed:
    """Mostly valid zone counts and telecom estimates, with defects at `rate`."""

    def __init__(self, seed: int, rate: float) -> None:
        self.rng = random.Random(seed)
        self.rate = rate
        self.hostile = HostileFeed(seed, NOW)
        self.ids: list[str] = []
        self.n = 0

    def time(self) -> str:
        rng = self.rng
        at = NOW - timedelta(seconds=rng.uniform(0, 40))
        if rng.random() < 0.3:
            at = at.replace(microsecond=0)
        text = at.isoformat()
        if rng.random() < 0.1:  # another way to write UTC, or Seoul's offset
            return text.replace("+00:00", "Z")
        if rng.random() < 0.1:
            return at.astimezone(timezone(timedelta(hours=9))).isoformat()
        return text

    def good(self, kind: str | None = None) -> dict[str, Any]:
        rng = self.rng
        self.n += 1
        eid = f"e{self.n}-{rng.randrange(10**6)}"
        self.ids.append(eid)
        at = self.time()
        doc: dict[str, Any] = {"event_id": eid, "source": rng.choice(["s", "bench", "소스"])}
        doc |= {"event_time": at, "ingest_time": at, "area_code": rng.choice(AREAS)}
        if kind == "zone_count" or (kind is None and rng.random() < 0.5):
            doc |= {"kind": "zone_count", "zone_id": rng.choice(["Z1", "Z2", "gate"])}
            doc |= {"counter_id": rng.choice(["c1", "c2"]), "count": rng.randrange(0, 3000)}
            doc["walkable_m2"] = rng.choice([500.0, 1200.5, 300])
            if rng.random() < 0.5:
                doc["confidence"] = rng.choice([0.5, 1, 0.9])
        else:
            low = rng.randrange(0, 5000)
            doc |= {"kind": "population_estimate", "people_min": low}
            doc["people_max"] = low + rng.randrange(0, 500)
            if rng.random() < 0.3:
                doc["congestion_level"] = rng.choice([*LABELS, None])
            if rng.random() < 0.3:
                doc["replaced"] = rng.random() < 0.5
        if rng.random() < 0.8:
            doc["v"] = 1
        keys = list(doc)
        rng.shuffle(keys)
        return {k: doc[k] for k in keys}

    def value(self, defect: int | None = None) -> bytes | None:
        """A record: valid, or with `defect` (at random at `rate` when None)."""
        rng = self.rng
        kinds = {6: "zone_count", 12: "population_estimate"}
        doc = self.good(kinds.get(defect or 0))
        if defect is None:
            if rng.random() >= self.rate:
                return json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode()
            defect = rng.randrange(DEFECTS)
        if defect == 0:
            return next(self.hostile)
        if defect == 1:
            return None
        if defect == 2:
            doc["event_time"] = (NOW - timedelta(minutes=rng.choice([11, 30]))).isoformat()
        elif defect == 3:
            doc["event_time"] = (NOW + timedelta(minutes=6)).isoformat()
        elif defect == 4:
            doc["event_time"] = (NOW - timedelta(days=8)).isoformat()
        elif defect == 5:
            doc["area_code"] = "POI999"
        elif defect == 6 and doc["kind"] == "zone_count":
            doc |= {"count": 100_000, "walkable_m2": 10.0}
        elif defect == 7:  # a duplicate of an event just before (of this run, mostly)
            doc["event_id"] = rng.choice(self.ids[-4:-1] or self.ids)
        elif defect == 14:  # a duplicate of any event so far, or this very event
            doc["event_id"] = rng.choice(self.ids)
        elif defect == 8:
            doc["event_time"] = "2026-06-13T04:00:01.1234567+00:00"
        elif defect == 9:
            raw = json.dumps(doc).encode()
            return raw[:-1] + b',"v":1}'  # a key twice
        elif defect == 10:
            kind = rng.choice(["environment_reading", "sensor_status", "population_estimate"])
            return json.dumps(valid_event(kind, doc["event_id"], NOW)).encode()
        elif defect == 11:
            doc["source"] = "a\u0085"
        elif defect == 12 and doc["kind"] == "population_estimate":
            doc["people_max"] = doc["people_min"] - 1
        else:
            doc["event_time"] = (NOW - timedelta(minutes=rng.choice([9, 12]))).isoformat()
        return json.dumps(doc).encode()


def batches(seed: int, rate: float) -> list[tuple[list[RawRecord], dict[tuple[str, int], int]]]:
    feed = Feed(seed, rate)
    rng = feed.rng
    offsets = [0, 0, 0]
    out = []
    for _ in range(6):
        recs: list[RawRecord] = []
        stored: dict[tuple[str, int], int] = {}
        for _ in range(rng.randrange(1, 6)):  # runs of one partition, as getmany gives
            p = rng.randrange(3)
            length = rng.choice([1, 3, 8, 20, 90])
            if rng.random() < 0.15:  # a replay: part of the run below the stored offset
                stored[("t", p)] = offsets[p] + rng.randrange(length)
            for _ in range(length):
                recs.append(RawRecord("t", p, offsets[p], b"k", feed.value()))
                offsets[p] += 1
        if rng.random() < 0.1:
            recs += recs[: rng.randrange(1, 10)]  # the same records delivered again
        out.append((recs, stored))
    return out


def snapshot(result: BatchResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


def run(
    processor: BatchProcessor, feed: list[tuple[list[RawRecord], dict[tuple[str, int], int]]]
) -> list[Any]:
    seen = []
    for recs, stored in feed:
        result = processor.process(recs, stored, NOW)
        recent = processor._recent_ids
        state = dict(processor._newest), dict(recent._current), dict(recent._previous)
        seen.append((snapshot(result), state))
    return seen


def count_lean_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each call of `BatchProcessor._lean_run` returned, in order (True: the run was
    taken whole)."""
    taken: list[bool] = []
    lean_run = BatchProcessor._lean_run

    def counting(self: BatchProcessor, *args: Any) -> bool:
        taken.append(lean_run(self, *args))
        return taken[-1]

    monkeypatch.setattr(BatchProcessor, "_lean_run", counting)
    return taken


@pytest.mark.parametrize("rate", [0.0, 0.003, 0.05])
@pytest.mark.parametrize("seed", range(12))
def test_the_columnar_path_gives_what_the_loop_gives(
    seed: int, rate: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    hotspots = hotspots_by_code()
    # Odd seeds remember few ids, so generations turn over within the batches too.
    policy = ValidationPolicy(recent_ids=seed * 40 + 200) if seed % 2 else ValidationPolicy()
    feed = batches(seed, rate)
    taken = count_lean_runs(monkeypatch)
    columnar = run(BatchProcessor(hotspots, policy), feed)
    monkeypatch.setattr(streams.batch, "_LEAN_RUN", 10**9)
    one_by_one = run(BatchProcessor(hotspots, policy), feed)
    assert columnar == one_by_one
    if rate == 0.0 and seed % 2 == 0:
        assert taken.count(True) > taken.count(False)  # the columnar path ran
    else:
        assert taken  # and so did the fall-back


def test_a_clean_run_is_taken_whole_and_a_defect_sends_it_record_by_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    feed = Feed(1, 0.0)
    values = [json.dumps(feed.good()).encode() for _ in range(30)]
    taken = count_lean_runs(monkeypatch)
    processor = BatchProcessor(hotspots_by_code())
    recs = [RawRecord("t", 0, i, b"k", v) for i, v in enumerate(values)]
    assert len(processor.process(recs, {}, NOW).readings) == 30
    late = json.loads(values[0])
    late |= {"event_id": "late", "event_time": (NOW - timedelta(minutes=11)).isoformat()}
    recs = [RawRecord("t", 0, 30 + i, b"k", v) for i, v in enumerate(values)]
    recs.append(RawRecord("t", 0, 60, b"k", json.dumps(late).encode()))
    result = processor.process(recs, {}, NOW)
    assert taken == [True, False]
    # the run's 30 events were counted already (same ids, other offsets)
    assert [d.reason for d in result.dead] == ["duplicate"] * 30 + ["too_late"]
    assert len(result.readings) == 1  # the late reading is stored raw


@pytest.mark.parametrize("defect", range(DEFECTS))
def test_one_defect_in_a_clean_run_gives_what_the_loop_gives(
    defect: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of defect alone in an otherwise clean run (in the mixed feeds above
    another defect may send a run record by record first)."""
    feed = Feed(defect, 0.0)
    values = [feed.value() for _ in range(20)]
    values.append(feed.value(defect))
    values += [feed.value() for _ in range(20)]
    recs = [RawRecord("t", 0, i, b"k", v) for i, v in enumerate(values)]
    hotspots = hotspots_by_code()
    columnar = run(BatchProcessor(hotspots), [(recs, {})])
    monkeypatch.setattr(streams.batch, "_LEAN_RUN", 10**9)
    one_by_one = run(BatchProcessor(hotspots), [(recs, {})])
    assert columnar == one_by_one
    assert len(columnar[0][0]["readings"]) + len(columnar[0][0]["dead"]) >= 40


@pytest.mark.parametrize("first", [2**47 - 40, 2**47, 2**62])
def test_offsets_too_large_for_numpys_positions_are_taken_one_by_one(
    first: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positions are computed in int64 on the columnar path; a run reaching 2**47 is
    left to `_each`, whose Python ints do not overflow, and gives the same results."""
    feed = Feed(3, 0.0)
    values = [json.dumps(feed.good()).encode() for _ in range(30)]
    recs = [RawRecord("t", 5, first + i, b"k", v) for i, v in enumerate(values)]
    taken = count_lean_runs(monkeypatch)
    hotspots = hotspots_by_code()
    columnar = run(BatchProcessor(hotspots), [(recs, {})])
    assert taken == [first + 29 < 2**47]
    monkeypatch.setattr(streams.batch, "_LEAN_RUN", 10**9)
    assert run(BatchProcessor(hotspots), [(recs, {})]) == columnar
    assert columnar[0][1][1] == {
        hash(json.loads(v)["event_id"]): (first + i) << 16 | 5 for i, v in enumerate(values)
    }


@pytest.mark.parametrize("held", [0, 1, 37, 39])
@pytest.mark.parametrize("length", [1, 2, 30, 40, 79, 80])
def test_a_generation_turning_over_within_a_clean_run_gives_what_the_loop_gives(
    held: int, length: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RecentIds of 80 (two generations of 40) holding `held` ids: a clean run that fills
    the current generation is still taken whole, and leaves the generations as the loop
    leaves them; one that would turn it over twice goes record by record."""
    feed = Feed(3, 0.0)
    before = [feed.value() for _ in range(held)]
    run_values = [feed.value() for _ in range(length)]
    recs = [RawRecord("t", 0, i, b"k", v) for i, v in enumerate(before)]
    recs_run = [RawRecord("t", 1, i, b"k", v) for i, v in enumerate(run_values)]
    hotspots, policy = hotspots_by_code(), ValidationPolicy(recent_ids=80)
    taken = count_lean_runs(monkeypatch)
    columnar = run(BatchProcessor(hotspots, policy), [(recs, {}), (recs_run, {})])
    whole = length >= streams.batch._LEAN_RUN  # else never tried whole
    lean_taken = taken[-1] if whole else None
    monkeypatch.setattr(streams.batch, "_LEAN_RUN", 10**9)
    one_by_one = run(BatchProcessor(hotspots, policy), [(recs, {}), (recs_run, {})])
    assert columnar == one_by_one
    if whole:
        assert lean_taken is (length - (40 - held) < 40)
