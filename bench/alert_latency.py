"""Alert detection latency under load, through the real system.

A zone's density is pushed across 심각 (6.0/m², counted every second) at event time T;
latency = (first SMS of that alert accepted by Kannel, i.e. `sms_outbox.sent_at`) − T −
the configured hold time. Meanwhile a background of live city events (every hotspot's
telecom estimate and zone counts, stamped with the send instant, all valid) is published
at `--rate` events/s (default 5,000) into the same input topic. The JSON splits the
latency at the engine's decision (`alerts.opened_at`, its clock) and again at the SMS's
outbox row (`sms_outbox.created_at`, when the worker's transaction queuing it began).
Everything is real: a Faust worker subprocess, the dispatcher subprocess (`citypulse
dispatcher`, Kannel provider), Kannel with its carrier stand-in on free ports,
PostgreSQL. 심각 is used because it never waits for a district grouping window (a
주의/경계 after another in the same district waits up to CITYPULSE_ALERT_GROUP_WINDOW_S
by design).

Uses the running Kafka/PostgreSQL named by CITYPULSE_KAFKA_PORT / CITYPULSE_DB_PORT
(default: the dev stack) with a fresh topic prefix and schema, removed afterwards.

    python bench/alert_latency.py [--quick] [--hold 10] [--rate 5000] [--probes 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from bench.live_load import AreaStateReader, LiveLoad, produce_paced  # noqa: E402
from citypulse.config import StackSettings  # noqa: E402
from citypulse.processes import Daemon  # noqa: E402
from citypulse.topics import AREA_STATE, CITY_EVENTS  # noqa: E402
from infra.db.migrate import drop_schema, migrate  # noqa: E402
from infra.kafka import broker  # noqa: E402
from infra.kannel import gateway  # noqa: E402
from infra.kannel.settings import KannelGatewaySettings  # noqa: E402
from sensors.events import ZoneCount, encode_event  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from tests.integration.alerts.conftest import Kannel, free_port, sms_env  # noqa: E402
from tests.integration.support import settings_env  # noqa: E402

WALKABLE = 200.0


def probe_event(area: str, zone: str, density: float, t: datetime, n: int) -> tuple[bytes, bytes]:
    e = ZoneCount(
        event_id=f"probe-{zone}-{n}", source="bench", event_time=t, ingest_time=t,
        area_code=area, zone_id=zone, counter_id=f"{zone}-cam", count=int(density * WALKABLE),
        walkable_m2=WALKABLE,
    )  # fmt: skip
    return area.encode(), encode_event(e)


class StateWatch(AreaStateReader):
    """Notes when each probe zone's state arrives."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, topic)
        self.seen: dict[str, list[tuple[float, float]]] = {}  # zone -> [(as_of, received)]

    def handle(self, received: float, msgs: list[Any]) -> None:
        for m in msgs:
            if b"-BENCH" in (m.key or b""):
                s = json.loads(m.value)
                as_of = datetime.fromisoformat(s["as_of"]).timestamp()
                self.seen.setdefault(s["zone_id"], []).append((as_of, received))

    def first_at(self, zone: str, as_of: float) -> float | None:
        return min((r for a, r in self.seen.get(zone, []) if a >= as_of - 1e-3), default=None)


async def run(args: argparse.Namespace, settings: StackSettings, work: Path) -> dict[str, object]:
    topic = settings.topic(CITY_EVENTS.suffix)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    await producer.start()
    stop = asyncio.Event()
    # Live, valid city events: each one is real work for the worker (fold, store, publish).
    background = LiveLoad(prefix="bg")
    # One probe zone per district, so each alert is the district's only one.
    by_district: dict[str, str] = {}
    for h in hotspots_by_code().values():
        by_district.setdefault(h.district, h.code)
    probes = [(a, f"{a}-BENCH{i}") for i, a in enumerate(list(by_district.values())[: args.probes])]
    crossed: dict[str, datetime] = {}
    missing: dict[str, object] = {}

    async def probe(i: int, area: str, zone: str) -> None:
        await asyncio.sleep(5 + i * args.spacing)
        # Straight in at 6.0: a counter going from 1.0 to 6.0 persons/m² within a second
        # is a jump no crowd makes, which the worker judges implausible (the zone's state
        # then raises the technicians' data_quality alert, never a crowd stage).
        for n, density in enumerate([6.0] * int(args.hold + 15)):
            t = datetime.now(UTC)
            if density > 5 and zone not in crossed:
                crossed[zone] = t
            key, value = probe_event(area, zone, density, t, n)
            await producer.send(topic, value, key=key)
            await asyncio.sleep(1.0)

    watch = StateWatch(settings.kafka_bootstrap, settings.topic(AREA_STATE.suffix))
    watch.start()
    loader = asyncio.create_task(
        produce_paced(background, settings.kafka_bootstrap, topic, args.rate, float("inf"), stop)
    )
    t0 = time.monotonic()
    await asyncio.gather(*(probe(i, a, z) for i, (a, z) in enumerate(probes)))
    async with await psycopg.AsyncConnection.connect(settings.db_conninfo) as conn:
        # The load goes on while the last alerts land: past the district grouping window
        # (CITYPULSE_ALERT_GROUP_WINDOW_S, 120 s), so a text held there is measured late,
        # not counted as missing.
        deadline = time.monotonic() + 150
        while True:
            cur = await conn.execute(
                "SELECT a.zone_id, min(a.opened_at), min(o.sent_at), min(o.created_at) "
                "FROM alerts a "
                "JOIN sms_outbox o ON o.alert_id = a.id WHERE a.zone_id LIKE '%%-BENCH%%' "
                "AND o.sent_at IS NOT NULL GROUP BY a.zone_id"
            )
            rows = {
                str(z): (opened, sent, queued) for z, opened, sent, queued in await cur.fetchall()
            }
            if len(rows) == len(probes) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        if len(rows) < len(probes):  # where the missing ones stopped
            cur = await conn.execute("SELECT count(*) FROM alerts WHERE zone_id LIKE '%%-BENCH%%'")
            opened = (await cur.fetchone() or (0,))[0]
            cur = await conn.execute(
                "SELECT status, count(*), max(last_error) FROM sms_outbox GROUP BY 1"
            )
            outbox = [list(map(str, r)) for r in await cur.fetchall()]
            cur = await conn.execute(
                "SELECT a.rule, a.stage, a.status, count(*), count(n.id) FILTER (WHERE "
                "n.queued_at IS NULL) FROM alerts a LEFT JOIN alert_notifications n ON "
                "n.alert_id = a.id WHERE a.zone_id LIKE '%%-BENCH%%' GROUP BY 1, 2, 3"
            )
            alerts = [list(map(str, r)) for r in await cur.fetchall()]
            missing = {"alerts_opened": opened, "outbox": outbox,
                       "alerts_rule_stage_status_n_waiting": alerts}  # fmt: skip
    stop.set()
    sent_bg = await loader
    watch.stop.set()
    elapsed = time.monotonic() - t0
    await producer.stop()
    total = sorted((rows[z][1] - crossed[z]).total_seconds() - args.hold for z in rows)
    # The two halves: stream worker (event -> state -> engine decision) and alert path
    # (decision -> outbox -> dispatcher -> Kannel accepted).
    detect = sorted((rows[z][0] - crossed[z]).total_seconds() - args.hold for z in rows)
    deliver = sorted((rows[z][1] - rows[z][0]).total_seconds() for z in rows)
    # And split again at the outbox row (its created_at: the start of the transaction that
    # queued it, in the worker): the alert agent's own wait and work, then the dispatcher.
    to_queue = sorted((rows[z][2] - rows[z][0]).total_seconds() for z in rows)
    to_kannel = sorted((rows[z][1] - rows[z][2]).total_seconds() for z in rows)
    # Decision split again: the held state reaches the area-state topic's reader, then the
    # alert agent decides. A state "holds" once its as_of is hold_s past the crossing.
    held = {z: watch.first_at(z, crossed[z].timestamp() + args.hold) for z in rows}
    state = sorted(h - crossed[z].timestamp() - args.hold for z, h in held.items() if h)
    engine = sorted(rows[z][0].timestamp() - h for z, h in held.items() if h)

    def pct(xs: list[float], q: float) -> float:
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 3) if xs else float("nan")

    return {
        "probes": len(probes), "alerts_sent": len(total), "hold_s": args.hold,
        "background_events_per_s": round(sent_bg / elapsed), "p50_s": pct(total, 0.5),
        "p99_s": pct(total, 0.99), "max_s": pct(total, 1.0),
        "decision_p50_s": pct(detect, 0.5), "decision_p99_s": pct(detect, 0.99),
        "held_state_p50_s": pct(state, 0.5), "held_state_p99_s": pct(state, 0.99),
        "state_to_decision_p50_s": pct(engine, 0.5),
        "state_to_decision_p99_s": pct(engine, 0.99),
        "decision_to_kannel_p50_s": pct(deliver, 0.5),
        "decision_to_kannel_p99_s": pct(deliver, 0.99),
        "decision_to_queued_p50_s": pct(to_queue, 0.5),
        "decision_to_queued_p99_s": pct(to_queue, 0.99),
        "queued_to_kannel_p50_s": pct(to_kannel, 0.5),
        "queued_to_kannel_p99_s": pct(to_kannel, 0.99),
        **({"missing": missing} if missing else {}),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--hold", type=float, default=10.0, help="CITYPULSE_ALERT_STAGE_HOLD_S")
    parser.add_argument("--rate", type=int, default=5000, help="background events/s")
    parser.add_argument("--probes", type=int, default=None)
    parser.add_argument("--spacing", type=float, default=None, help="s between probe starts")
    args = parser.parse_args()
    args.probes = args.probes or (6 if args.quick else 25)
    args.spacing = args.spacing if args.spacing is not None else (2.0 if args.quick else 3.0)
    tag = f"bench{uuid.uuid4().hex[:8]}"
    settings = StackSettings().model_copy(update={"topic_prefix": tag, "db_schema": tag})
    work = Path(tempfile.mkdtemp(prefix="alert-latency-"))
    migrate(settings.db_conninfo, tag)
    names = broker.ensure_topics(settings)
    kannel = KannelGatewaySettings(admin_port=free_port(), smsbox_port=free_port(),
                                   sendsms_port=free_port(), smsc_port=free_port())  # fmt: skip
    gateway.start(work / "kannel", kannel)
    with psycopg.connect(settings.db_conninfo) as db:
        db.execute(
            "INSERT INTO recipients (name, phone_e164, tier) VALUES "
            "('district', '+821077770001', 1), ('city', '+821077770002', 2), "
            "('119/112', '+821077770003', 3)"
        )
    env = {**settings_env(settings), "CITYPULSE_ALERT_STAGE_HOLD_S": str(args.hold)}
    worker = Daemon(f"{tag}-worker", work / "run", work / "log")
    dispatcher = Daemon(f"{tag}-dispatcher", work / "run", work / "log")
    result: dict[str, object] | None = None
    try:
        (work / "w").mkdir()
        faust = [sys.executable, "-m", "faust", "-A", "streams.app", "worker", "-l", "warn"]
        worker.start(faust, marker="streams.app", env=env, cwd=work / "w")
        # Delivery reports go nowhere here: latency ends at Kannel's acceptance.
        sms = sms_env(Kannel(work / "kannel", kannel), f"http://127.0.0.1:{free_port()}/dlr")
        dispatcher.start([sys.executable, "-m", "citypulse.cli", "dispatcher"],
                         marker="citypulse.cli", env={**env, **sms}, cwd=ROOT)  # fmt: skip
        time.sleep(8)  # the worker joins its group and restores the alert engine
        result = asyncio.run(run(args, settings, work))
    finally:
        dispatcher.stop(timeout_s=20)
        worker.stop(timeout_s=20)
        if result is None or result.get("missing"):  # the logs say why
            for daemon in (worker, dispatcher):
                print(f"--- {daemon.log_file}:\n{daemon.log_tail(30)}", file=sys.stderr)
        gateway.stop(work / "kannel")
        broker.delete_topics(settings, names)
        drop_schema(settings.db_conninfo, tag)
        if result is None or result.get("missing"):
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"alerts {result['alerts_sent']}/{result['probes']}, p50 {result['p50_s']} s, "
          f"p99 {result['p99_s']} s beyond a {args.hold} s hold, background "
          f"{result['background_events_per_s']} events/s; decision -> Kannel p99 "
          f"{result['decision_to_kannel_p99_s']} s (to the outbox row "
          f"{result['decision_to_queued_p99_s']} s, then "
          f"{result['queued_to_kannel_p99_s']} s)")  # fmt: skip
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
