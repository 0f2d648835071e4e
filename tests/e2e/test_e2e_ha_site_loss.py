"""HA mode loses a whole site during a surge, twice (issue 17, must-show 1).

`citypulse up` in HA mode with real Kannel. A surge of zone counts (acks=all, idempotent,
each event id unique; CITYPULSE_TEST_SURGE_RATE events/s, default 5,000 as issue 17 asks)
runs while every process of site a is killed with SIGKILL (each program's whole process
group: its Kafka node, its PostgreSQL keeper and postmaster, which is the primary, its
stream worker, dispatcher, API and watchdog) and kept down. Meanwhile a zone crosses 심각:
- its SMS reaches Kannel within 60 s of the crossing;
- a websocket through HAProxy gets area states again within 30 s of the kill.
Then site a is started again and rejoins (Kafka: every partition back to three in-sync
replicas; PostgreSQL: a standby again), and site b is lost the same way. At the end:
- per (area, zone, minute) the database holds exactly the surge events Kafka acknowledged
  (raw readings and the 1-minute stats' samples: 0 lost, 0 counted twice);
- every outbox message was submitted to Kannel exactly once.

Each site has its Kannel gateway (bearerbox, smsbox, its carrier stand-in), killed with
the site; the dispatcher left falls back to the other site's. The third Kafka voter and
pg_auto_failover's monitor are at the witness location (c), which is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
import time
import uuid
import xmlrpc.client
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from citypulse.cli import ha, ha_stack, supervise
from citypulse.cli.stack import layout
from citypulse.config import REPO_ROOT, StackSettings
from citypulse.topics import CITY_EVENTS, DEAD_LETTER
from infra.db import ha as pg_ha
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from sensors.events import ZoneCount, encode_event
from sensors.registry import load_hotspots
from tests.e2e.support import cli, fully_replicated
from tests.integration.alerts.conftest import Kannel, free_port, sms_env
from tests.integration.support import settings_env, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.kannel,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_HA"), reason="CITYPULSE_TEST_HA=1"),
]

STACK = StackSettings(
    env="test", ha=True, var_dir=REPO_ROOT / "var" / "e2e" / "ha-site-loss", kafka_port=32292,
    kafka_controller_port=32293, db_port=32641, db_standby_port=32642, db_monitor_port=32640,
    api_port=32600, api_port_a=32601, api_port_b=32602, kafka_heap_mb=384,
    dispatch_metrics_port=0,
)  # fmt: skip
RATE = float(os.environ.get("CITYPULSE_TEST_SURGE_RATE", "5000"))
HOLD_S = 5.0  # CITYPULSE_ALERT_STAGE_HOLD_S
SURGE_AREAS = 40  # hotspots the surge reports on (two zones each)
# A site's programs, in the order they are started again (infrastructure first).
SITE_PROGRAMS = ("kafka", "postgres", "carrier-standin", "bearerbox", "smsbox", "worker",
                 "dispatcher", "api", "watchdog")  # fmt: skip


class Surge(threading.Thread):
    """Zone counts at RATE events/s with an idempotent acks=all producer; counts what Kafka
    acknowledged per (area, zone, minute of event time)."""

    def __init__(self, tag: str) -> None:
        super().__init__(daemon=True)
        spots = load_hotspots()[:SURGE_AREAS]
        self.zones = [(h.code, f"SURGE{z}") for h in spots for z in (1, 2)]
        self.tag, self.n = tag, 0
        self.acked: Counter[tuple[str, str, datetime]] = Counter()
        self.failed = 0
        self.unresolved = 0  # sends neither acknowledged nor failed when the surge ended
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.began = time.monotonic()

    def run(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _event(self) -> tuple[bytes, bytes, tuple[str, str, datetime]]:
        area, zone = self.zones[self.n % len(self.zones)]
        now = datetime.now(UTC)
        e = ZoneCount(event_id=f"{self.tag}-{self.n}", source="surge", event_time=now,
                      ingest_time=now, area_code=area, zone_id=zone,
                      counter_id=f"{zone}-c", count=100, walkable_m2=500.0)  # fmt: skip
        self.n += 1
        return area.encode(), encode_event(e), (area, zone, now.replace(second=0, microsecond=0))

    async def _run(self) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(
            bootstrap_servers=STACK.kafka_bootstrap, acks="all", enable_idempotence=True,
            linger_ms=20, request_timeout_ms=120_000, retry_backoff_ms=500,
        )  # fmt: skip
        await producer.start()
        topic = CITY_EVENTS.name(STACK.topic_prefix)
        pending: set[asyncio.Future[Any]] = set()

        def done(window: tuple[str, str, datetime], fut: asyncio.Future[Any]) -> None:
            pending.discard(fut)
            if fut.exception() is None:
                self.acked[window] += 1
            else:
                self.failed += 1

        try:
            self.began = time.monotonic()
            while not self.stop.is_set():
                due = int(RATE * (time.monotonic() - self.began)) - self.n
                for _ in range(max(0, min(due, 2000))):
                    key, value, window = self._event()
                    fut = await producer.send(topic, value, key=key)
                    pending.add(fut)
                    fut.add_done_callback(lambda f, w=window: done(w, f))
                await asyncio.sleep(0.02)
            if pending:
                await asyncio.wait(pending, timeout=180)
            self.unresolved = len(pending)
        finally:
            await producer.stop()

    @property
    def rate(self) -> float:
        return sum(self.acked.values()) / max(1e-3, time.monotonic() - self.began)


@pytest.fixture(scope="module")
def kannel() -> Iterator[dict[str, Kannel]]:
    """Site a's Kannel settings for `up` (site b's are them + 100) and both gateways as
    `up` runs them under supervisord, in the stack's var dir; `down` stops them."""
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    settings = KannelGatewaySettings(admin_port=free_port(), smsbox_port=free_port(),
                                     sendsms_port=free_port(), smsc_port=free_port())  # fmt: skip
    yield {site: Kannel(d, k) for site, d, k in ha_stack.kannel_sites(STACK, settings)}


@pytest.fixture(scope="module")
def stack(kannel: dict[str, Kannel]) -> Iterator[dict[str, str]]:
    k = kannel["a"]
    env = {
        **os.environ, **settings_env(STACK), "CITYPULSE_HA": "1",
        "CITYPULSE_KAFKA_HEAP_MB": str(STACK.kafka_heap_mb),
        "CITYPULSE_DB_STANDBY_PORT": str(STACK.db_standby_port),
        "CITYPULSE_DB_MONITOR_PORT": str(STACK.db_monitor_port),
        "CITYPULSE_API_PORT_A": str(STACK.api_port_a),
        "CITYPULSE_API_PORT_B": str(STACK.api_port_b),
        "CITYPULSE_WORKER_METRICS_PORT": "0", "CITYPULSE_DISPATCH_METRICS_PORT": "0",
        "CITYPULSE_WATCHDOG_FEED_STALE_S": "0",  # no simulator: the city is quiet on purpose
        "CITYPULSE_ALERT_STAGE_HOLD_S": str(HOLD_S),
        **sms_env(k, f"{STACK.api_url}/sms/dlr/kannel"),
        "CITYPULSE_KANNEL_ADMIN_PORT": str(k.settings.admin_port),
        "CITYPULSE_KANNEL_SMSBOX_PORT": str(k.settings.smsbox_port),
        "CITYPULSE_KANNEL_SENDSMS_PORT": str(k.settings.sendsms_port),
        "CITYPULSE_KANNEL_SMSC_PORT": str(k.settings.smsc_port),
    }  # fmt: skip
    env.pop("WEB_PORT", None)  # two workers: each its own Faust web port
    cli(env, "down", timeout=300)
    shutil.rmtree(STACK.var_dir, ignore_errors=True)
    try:
        up = cli(env, "up", "--no-simulator", timeout=600)
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:
        cli(env, "down", timeout=600)
        shutil.rmtree(STACK.var_dir, ignore_errors=True)


def _lay() -> supervise.Layout:
    return layout(STACK)


def _site_programs(site: str) -> list[str]:
    names = [p["name"] for p in supervise.processes(_lay())]
    return [n for n in names if ha.site_of(n) == site and ha.base_name(n) in SITE_PROGRAMS]


def lose_site(site: str) -> list[str]:
    """SIGKILL every process of the site (each program's process group), then keep it
    down: supervisord is told to stop them (a restart it began meanwhile is stopped)."""
    rpc = supervise.rpc(_lay()).supervisor
    names = _site_programs(site)
    for name in names:
        pid = rpc.getProcessInfo(name)["pid"]
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                os.kill(pid, signal.SIGKILL)
    # Keep them down: stop each until supervisord reports it STOPPED (a kill it saw as an
    # exit is restarted a moment later; stopping an exited one is refused meanwhile).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        up = [n for n in names if rpc.getProcessInfo(n)["statename"] != "STOPPED"]
        if not up:
            return names
        for name in up:
            with contextlib.suppress(xmlrpc.client.Fault):
                rpc.stopProcess(name, False)
        time.sleep(0.5)
    raise AssertionError(f"site {site} not kept down: {[rpc.getProcessInfo(n) for n in names]}")


def restore_site(names: list[str]) -> None:
    rpc = supervise.rpc(_lay()).supervisor
    for base in SITE_PROGRAMS:  # Kafka and PostgreSQL before the applications
        for name in names:
            if ha.base_name(name) == base:
                with contextlib.suppress(xmlrpc.client.Fault):  # already running
                    rpc.startProcess(name, False)


def _query(sql: str, *args: object) -> list[tuple[Any, ...]]:
    try:
        with psycopg.connect(STACK.db_conninfo, connect_timeout=3) as conn:
            return list(conn.execute(sql, args).fetchall())
    except psycopg.Error:
        return []


# Diagnostics only: each transaction's surge readings and 1-minute partials per window
# (txid), so a differing window says which transaction stored readings without their
# samples. Statement-level for the COPY, row-level (BEFORE INSERT: the partial added, also
# on conflict) for the upsert. Replicated like any table, so a failover keeps it.
AUDIT_SQL = """
CREATE TABLE audit_tx (txid bigint, kind text, area_code text, zone_id text,
    minute timestamptz, n bigint, at timestamptz DEFAULT clock_timestamp(),
    pid int DEFAULT pg_backend_pid());
CREATE FUNCTION audit_readings() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_tx (txid, kind, area_code, zone_id, minute, n)
    SELECT txid_current(), 'readings', area_code, zone_id, date_trunc('minute', event_time),
           count(*) FROM new_rows WHERE zone_id LIKE 'SURGE%' GROUP BY 3, 4, 5;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_readings AFTER INSERT ON crowd_readings REFERENCING NEW TABLE AS
    new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit_readings();
CREATE FUNCTION audit_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.zone_id LIKE 'SURGE%' THEN
        INSERT INTO audit_tx (txid, kind, area_code, zone_id, minute, n)
        VALUES (txid_current(), 'stats', NEW.area_code, NEW.zone_id, NEW.bucket, NEW.samples);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_stats BEFORE INSERT ON crowd_stats_1m FOR EACH ROW
    EXECUTE FUNCTION audit_stats();
"""


def _install_audit() -> str:
    try:
        with psycopg.connect(STACK.db_conninfo, connect_timeout=5) as conn:
            conn.execute(AUDIT_SQL)
        return "audit installed"
    except psycopg.Error as exc:
        return f"audit not installed: {exc}"


def _audit(area: str, zone: str, minute: datetime) -> list[str]:
    rows = _query("SELECT txid, min(at), min(pid), sum(n) FILTER (WHERE kind = 'readings'), "
                  "sum(n) FILTER (WHERE kind = 'stats') FROM audit_tx WHERE area_code = %s "
                  "AND zone_id = %s AND minute = %s GROUP BY 1 ORDER BY 2", area, zone,
                  minute)  # fmt: skip
    out = [f"    {len(rows)} transactions; those whose readings and partials differ:"]
    for txid, at, pid, readings, stats in rows:
        if readings != stats:
            out.append(f"    tx {txid} at {at:%H:%M:%S.%f} pid {pid}: "
                       f"readings {readings}, stats {stats}")  # fmt: skip
    return out


def _more_sent(k: Kannel, than: int) -> bool:
    return len(k.sent_destinations()) > than


def _digits(phone: str) -> str:
    """The subscriber part: Kannel logs numbers as the carrier gets them (+82 or 0)."""
    return re.sub(r"\D", "", phone)[-8:]


def _probe_zone(n: int) -> tuple[str, str]:
    spot = load_hotspots()[SURGE_AREAS + n]
    return spot.code, f"PROBE{n}"


def cross_severe(area: str, zone: str, stop: threading.Event) -> datetime:
    """A zone at 6 persons/m² (심각) every second until `stop`; returns the crossing."""
    from sensors.publisher import KafkaEventPublisher

    pub = KafkaEventPublisher(STACK.kafka_bootstrap, CITY_EVENTS.name(STACK.topic_prefix))
    crossed = datetime.now(UTC)

    def run() -> None:
        n = 0
        try:
            while not stop.is_set():
                now = datetime.now(UTC)
                pub.publish(ZoneCount(event_id=f"{zone}-{uuid.uuid4().hex[:6]}-{n}",
                                      source="probe", event_time=now, ingest_time=now,
                                      area_code=area, zone_id=zone, counter_id=f"{zone}-c",
                                      count=1200, walkable_m2=200.0))  # fmt: skip
                n += 1
                stop.wait(1)
        finally:
            pub.close()

    threading.Thread(target=run, daemon=True).start()
    return crossed


def first_state_after(since: float, timeout_s: float) -> float | None:
    """Seconds from `since` (time.time()) until a websocket through HAProxy receives
    changed area states (not only a connection's snapshot), reconnecting as the dashboard
    does."""
    url = f"ws://{STACK.api_host}:{STACK.api_port}/ws/areas"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with connect(url, open_timeout=3) as ws:
                first = True  # a connection's first states frame is its snapshot
                while time.time() < deadline:
                    frame = json.loads(ws.recv(timeout=3))
                    # /ws/areas: {"type":"states","states":[...]}, or a heartbeat
                    if frame.get("type") == "states" and frame.get("states"):
                        if not first:
                            return time.time() - since
                        first = False
        except (ConnectionClosed, OSError, TimeoutError):
            time.sleep(0.5)
    return None


def _dead_letters(tag: str) -> tuple[Counter[str], Counter[tuple[str, str, str]]]:
    """The dead-letter topic: every letter by reason, and the surge's by (reason, zone,
    minute of event time)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        DEAD_LETTER.name(STACK.topic_prefix),
        bootstrap_servers=STACK.kafka_bootstrap, auto_offset_reset="earliest",
        consumer_timeout_ms=5000, enable_auto_commit=False,
    )  # fmt: skip
    reasons: Counter[str] = Counter()
    surge: Counter[tuple[str, str, str]] = Counter()
    try:
        for msg in consumer:
            reason = dict(msg.headers).get("reason", b"?").decode()
            reasons[reason] += 1
            with contextlib.suppress(ValueError, AttributeError, TypeError):
                event = json.loads(msg.value)
                if str(event.get("event_id", "")).startswith(f"{tag}-"):
                    minute = str(event.get("event_time", ""))[:16]
                    surge[(reason, f"{event.get('area_code')}/{event.get('zone_id')}", minute)] += 1
    finally:
        consumer.close()
    return reasons, surge


def diagnose(tag: str, acked: dict[Any, int], counted: dict[Any, int], raw: dict[Any, int]) -> str:
    """Why the stats differ from what was produced: each differing window, how its raw
    readings were stored (transaction by transaction: `stored_at` is the transaction's
    start), the dead letters, the workers' warnings; the logs are kept in /tmp."""
    lines = ["--- stats differ from what was produced ---"]
    bad = sorted(k for k in set(acked) | set(counted) if acked.get(k) != counted.get(k))
    for key in bad[:40]:
        lines.append(f"window {key}: produced {acked.get(key)}, raw {raw.get(key)}, "
                     f"stats {counted.get(key)}")  # fmt: skip
    for area, zone, minute in bad[:6]:
        rows = _query("SELECT stored_at, count(*), min(event_time), max(event_time) "
                      "FROM crowd_readings WHERE event_id LIKE %s AND area_code = %s AND "
                      "zone_id = %s AND date_trunc('minute', event_time) = %s GROUP BY 1 "
                      "ORDER BY 1", f"{tag}-%", area, zone, minute)  # fmt: skip
        lines.append(f"  {area}/{zone} {minute:%H:%M} stored by transaction:")
        lines += [f"    {r[0]:%H:%M:%S.%f} {r[1]} readings, {r[2]:%H:%M:%S}-{r[3]:%H:%M:%S}"
                  for r in rows]  # fmt: skip
        lines += _audit(area, zone, minute)
    counts = _query("SELECT reason, count FROM dead_letter_counts")
    offsets = _query("SELECT topic, partition, next_offset FROM stream_offsets ORDER BY 1, 2")
    lines.append(f"dead_letter_counts: {counts}")
    lines.append(f"stream_offsets: {offsets}")
    try:
        reasons, surge = _dead_letters(tag)
        lines.append(f"dead-letter topic by reason: {dict(reasons)}")
        lines.append(f"surge dead letters: {dict(surge)}")
    except Exception as exc:  # diagnostics only
        lines.append(f"dead-letter topic not read: {exc!r}")
    keep = Path(tempfile.gettempdir()) / f"citypulse-site-loss-{datetime.now(UTC):%H%M%S}"
    for log in STACK.var_dir.rglob("*.log"):
        target = keep / log.relative_to(STACK.var_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, target)
    pattern = re.compile(r"refused|unavailable|at fault|Traceback|Error|stale|rebalanc", re.I)
    for log in sorted(keep.rglob("worker*.log")):
        hits = [ln for ln in log.read_text(errors="replace").splitlines() if pattern.search(ln)]
        lines.append(f"{log.name}: {len(hits)} notable lines")
        lines += [f"  {h[:300]}" for h in hits[:60]]
    lines.append(f"logs kept in {keep}")
    return "\n".join(lines)


def test_either_site_is_lost_during_a_surge_and_service_goes_on(
    stack: dict[str, str], kannel: dict[str, Kannel]
) -> None:
    wait_for(lambda: fully_replicated(STACK), 120, "all three Kafka nodes in every ISR")
    print(_install_audit())  # noqa: T201
    surge = Surge(f"surge{uuid.uuid4().hex[:6]}")
    surge.start()
    report: dict[str, dict[str, float]] = {}
    try:
        time.sleep(15)  # the surge is on before the loss
        for n, site in enumerate(("a", "b")):
            primary = pg_ha.primary(STACK)
            survivor = kannel["b" if site == "a" else "a"]
            sent_before = len(survivor.sent_destinations())
            killed_at = time.time()
            names = lose_site(site)
            assert {ha.base_name(x) for x in names} == set(SITE_PROGRAMS), names
            stop_probe = threading.Event()
            area, zone = _probe_zone(n)
            crossed = cross_severe(area, zone, stop_probe)
            states_s = first_state_after(killed_at, 60)

            def sent(z: str = zone) -> list[tuple[Any, ...]]:
                return _query("SELECT min(o.sent_at) FROM alerts a JOIN sms_outbox o ON "
                              "o.alert_id = a.id WHERE a.zone_id = %s AND o.sent_at IS NOT "
                              "NULL HAVING count(*) > 0", z)  # fmt: skip

            wait_for(lambda: bool(sent()), 120, f"the 심각 SMS of {zone} after site {site}'s loss",
                     lambda: str(pg_ha.states(STACK)))  # fmt: skip
            stop_probe.set()
            sms_s = (sent()[0][0] - crossed).total_seconds()
            wait_for(partial(_more_sent, survivor, sent_before), 30,
                     "the SMS through the surviving site's Kannel")  # fmt: skip
            report[site] = {"sms_after_crossing_s": round(sms_s, 1),
                            "states_again_s": round(states_s or -1, 1),
                            "was_pg_primary": float(primary is not None and primary.name == site),
                            "surge_rate": round(surge.rate)}  # fmt: skip
            print(f"\nsite {site} lost: {report[site]}")  # noqa: T201
            assert states_s is not None and states_s <= 30, report
            assert sms_s <= 60, report
            restore_site(names)
            back = f"site {site}'s Kafka node back in every ISR"
            wait_for(lambda: fully_replicated(STACK), 300, back)
            wait_for(lambda: all(pg_ha.node_ready(STACK, x) for x in pg_ha.sites(STACK)), 300,
                     f"site {site}'s PostgreSQL back as standby",
                     lambda: str(pg_ha.states(STACK)))  # fmt: skip
            report[site]["rejoined_after_s"] = round(time.time() - killed_at, 1)
    finally:
        surge.stop.set()
        surge.join(240)
    assert surge.error is None, surge.error
    # What was produced is read once the producer has ended and every send has an answer:
    # a count taken while late acknowledgements still arrive is no reference for the
    # database's (each window is compared twice, raw and stats, a moment apart).
    assert not surge.is_alive(), "the surge producer did not end within 240 s"
    assert surge.failed == 0, f"{surge.failed} surge events not acknowledged"
    assert surge.unresolved == 0, f"{surge.unresolved} surge sends never answered"
    acked = dict(surge.acked)
    total = sum(acked.values())
    tag = surge.tag
    rate = total / (time.monotonic() - surge.began)
    print(f"\nsurge: {total} events acknowledged, {rate:.0f} events/s on average; {report}")  # noqa: T201

    def stored() -> int:
        rows = _query("SELECT count(*) FROM crowd_readings WHERE event_id LIKE %s", f"{tag}-%")
        return int(rows[0][0]) if rows else -1

    wait_for(lambda: stored() >= total, 300, f"the {total} acknowledged surge events stored",
             lambda: f"{stored()} stored")  # fmt: skip
    raw = _query("SELECT area_code, zone_id, date_trunc('minute', event_time), count(*), "
                 "count(DISTINCT event_id) FROM crowd_readings WHERE event_id LIKE %s "
                 "GROUP BY 1, 2, 3", f"{tag}-%")  # fmt: skip
    got = {(a, z, t): c for a, z, t, c, _ in raw}
    assert all(c == d for *_, c, d in raw), "an event stored twice"
    assert got == acked, "per-window counts differ from what was produced"
    zones = sorted({z for _, z in surge.zones})
    stats = _query("SELECT area_code, zone_id, bucket, sum(samples) FROM crowd_stats_1m "
                   "WHERE zone_id = ANY(%s) GROUP BY 1, 2, 3", zones)  # fmt: skip
    counted = {(a, z, t): int(c) for a, z, t, c in stats}
    if counted != acked:
        print(diagnose(tag, acked, counted, got))  # noqa: T201
    assert counted == acked, "1-minute stats' samples differ from what was produced"
    # Every outbox message submitted to Kannel exactly once.
    outbox = Counter(_digits(str(p)) for (p,) in _query(
        "SELECT phone_e164 FROM sms_outbox WHERE sent_at IS NOT NULL"))  # fmt: skip
    submitted = Counter(_digits(to) for k in kannel.values() for to in k.sent_destinations())
    assert outbox and submitted == outbox
