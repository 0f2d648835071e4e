"""Reads the compacted area-state topic and fans each state out to websocket clients.

The hub keeps the newest state per key (a snapshot for new clients) and one
ConflatingQueue per client. It reads without a consumer group from the beginning of the
compacted topic, so every API process holds the full current picture on its own.

Each state gets a hub sequence number. Because the hub keeps the newest state per key,
"everything since seq N" is simply the keys whose newest seq is above N: a client that
reconnects resumes from there without a replay log. The epoch changes with each process,
so a sequence number from another process is never trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from dashboard_api.live.conflate import ConflatingQueue
from dashboard_api.live.filters import STAGE_RANK, LiveFilter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    """One state as the hub holds it: parsed once, rendered once for every client."""

    key: str
    seq: int
    area_code: str
    district: str
    is_zone: bool
    stage_rank: int
    raw: bytes  # the state exactly as on the topic (/ws/areas)
    item: bytes  # {"kind":"state","seq":..,"state":..} (/ws/live)


@dataclass(eq=False)  # identity, so clients can live in a set
class Client:
    queue: ConflatingQueue = field(default_factory=ConflatingQueue)
    framed: bool = False  # /ws/live items rather than bare states
    filter: LiveFilter | None = None
    operator: bool = False  # also receives alert events
    shown: set[str] = field(default_factory=set)  # keys sent at or above min_stage

    def wants(self, entry: Entry) -> bool:
        f = self.filter
        if f is None:
            return True
        if not f.place_matches(entry.area_code, entry.district, entry.is_zone):
            return False
        if entry.stage_rank >= f.min_stage:
            self.shown.add(entry.key)
            return True
        # Below the minimum: send the drop once, so the client never keeps a stale stage.
        if entry.key in self.shown:
            self.shown.discard(entry.key)
            return True
        return False

    def offer(self, entry: Entry) -> None:
        if self.wants(entry):
            self.queue.put(entry.key, entry.item if self.framed else entry.raw)


def parse_entry(key: str, raw: bytes, seq: int, districts: Mapping[str, str]) -> Entry:
    try:
        state = json.loads(raw)
        area = str(state["area_code"])
        rank = STAGE_RANK.get(str(state.get("stage")), 0)
        is_zone = state.get("zone_id") is not None
    except (ValueError, KeyError, TypeError):
        area, rank, is_zone = key.split("/", 1)[0], 0, "/" in key
    item = b'{"kind":"state","seq":%d,"state":%s}' % (seq, raw)
    return Entry(key, seq, area, districts.get(area, ""), is_zone, rank, raw, item)


class AreaStateHub:
    def __init__(
        self, bootstrap: str, topic: str, districts: Mapping[str, str] | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.districts: Mapping[str, str] = districts or {}
        self.latest: dict[str, bytes] = {}
        self.entries: dict[str, Entry] = {}
        self.clients: set[Client] = set()
        self.last_message_at: float | None = None
        self.connected = False
        self.seq = 0
        self.epoch = uuid.uuid4().hex[:12]
        self.states_received = 0
        self.alert_events = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="area-state-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(
        self,
        *,
        framed: bool = False,
        live_filter: LiveFilter | None = None,
        operator: bool = False,
        snapshot: bool = True,
    ) -> Client:
        client = Client(framed=framed, filter=live_filter, operator=operator)
        if snapshot:
            for entry in self.entries.values():
                client.offer(entry)
        self.clients.add(client)
        return client

    def snapshot(self, client: Client, since_seq: int = 0) -> list[bytes]:
        """Items the client's filter accepts that changed after since_seq, oldest first."""
        chosen = [e for e in self.entries.values() if e.seq > since_seq and client.wants(e)]
        chosen.sort(key=lambda e: e.seq)
        return [e.item if client.framed else e.raw for e in chosen]

    def refilter(self, client: Client, live_filter: LiveFilter) -> None:
        """A new filter: the client gets a reset, then every state the filter accepts."""
        client.filter = live_filter
        client.shown.clear()
        client.queue.clear()
        client.queue.put("reset", b'{"kind":"reset"}')
        for entry in sorted(self.entries.values(), key=lambda e: e.seq):
            client.offer(entry)

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    def publish(self, key: str, message: bytes) -> None:
        self.seq += 1
        entry = parse_entry(key, message, self.seq, self.districts)
        self.latest[key] = message
        self.entries[key] = entry
        self.last_message_at = time.monotonic()
        self.states_received += 1
        for client in self.clients:
            client.offer(entry)

    def publish_alert(self, alert_id: int, item: bytes) -> None:
        """An alert event, only to operator clients; conflated per alert."""
        self.alert_events += 1
        for client in self.clients:
            if client.operator:
                client.queue.put(f"alert:{alert_id}", item)

    def conflated_total(self) -> int:
        return sum(c.queue.conflated for c in self.clients)

    async def _run(self) -> None:
        backoff = 0.5
        while True:
            # No group: every API process reads every partition from the start of the
            # compacted topic, which is the full current picture.
            consumer = AIOKafkaConsumer(
                self.topic,
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                group_id=None,
                auto_offset_reset="earliest",
            )
            try:
                await consumer.start()
                self.connected = True
                backoff = 0.5
                async for msg in consumer:
                    if msg.key is None or msg.value is None:
                        continue  # a tombstone: nothing to show
                    self.publish(msg.key.decode(), msg.value)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any broker trouble: report, wait, reconnect
                log.warning("area-state hub lost Kafka (%s); reconnecting in %.1fs", exc, backoff)
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)


def envelope(messages: list[bytes]) -> str:
    """Join already-serialised states into one JSON frame without re-parsing them."""
    return '{"type":"states","states":[' + b",".join(messages).decode() + "]}"


def live_frame(kind: str, seq: int, epoch: str, items: list[bytes], extra: str = "") -> str:
    """A /ws/live frame: snapshot or delta, items already serialised."""
    head = f'{{"type":"{kind}","seq":{seq},"epoch":"{epoch}",{extra}"items":['
    return head + b",".join(items).decode() + "]}"


def heartbeat_frame(seq: int | None = None) -> str:
    body: dict[str, object] = {"type": "heartbeat", "ts": time.time()}
    if seq is not None:
        body["seq"] = seq
    return json.dumps(body)
