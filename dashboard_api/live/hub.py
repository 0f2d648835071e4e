"""Reads the compacted area-state topic and fans each state out to websocket clients.

The hub keeps the newest state per key, ordered by a hub sequence number. A state that
arrives costs the same however many clients are connected: it is stored, and each
client's cursor (the seq it has been sent up to) tells the pacer what that client still
needs. The hub reads without a consumer group from the beginning of the compacted topic,
so every API process holds the full current picture on its own.

Because the hub keeps the newest state per key, "everything since seq N" is simply the
keys whose newest seq is above N: a client that reconnects resumes from there without a
replay log. The epoch changes with each process, so a sequence number from another
process is never trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer

from dashboard_api.live.client import Client
from dashboard_api.live.entries import LatestStates, parse_entry, wanted
from dashboard_api.live.filters import LiveFilter
from dashboard_api.live.pacer import SendPacer

log = logging.getLogger(__name__)
RESET = b'{"kind":"reset"}'


class AreaStateHub:
    def __init__(
        self, bootstrap: str, topic: str, districts: Mapping[str, str] | None = None
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.districts: Mapping[str, str] = districts or {}
        self.latest: dict[str, bytes] = {}
        self.states = LatestStates()
        self.last_message_at: float | None = None
        self.connected = False
        self.seq = 0
        self.epoch = uuid.uuid4().hex[:12]
        self.states_received = 0
        self.alert_events = 0
        self.conflated_by_departed = 0  # kept, so the total never falls when a client leaves
        self.departed = 0  # clients that have left: when to thaw (core/gcpolicy.py)
        self.pacer = SendPacer(self.states, lambda: (self.seq, self.epoch))
        self._task: asyncio.Task[None] | None = None

    @property
    def clients(self) -> set[Client]:
        return self.pacer.clients

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="area-state-hub")

    async def stop(self) -> None:
        await self.pacer.stop()
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
        """A new client. With snapshot, its first frame carries every state it wants;
        without, call snapshot() before the next await to set where its deltas start."""
        client = Client(framed=framed, filter=live_filter, operator=operator)
        client.cursor = 0 if snapshot else self.seq
        self.pacer.add(client)
        return client

    def snapshot(self, client: Client, since_seq: int = 0) -> list[bytes]:
        """Items the client's filter accepts that changed after since_seq, oldest first;
        its deltas continue from the current seq."""
        chosen = wanted(self.states, since_seq, client.filter)
        client.cursor = self.seq
        return [e.item if client.framed else e.raw for e in chosen]

    def refilter(self, client: Client, live_filter: LiveFilter) -> None:
        """A new filter: the client gets a reset, then every state the filter accepts."""
        client.filter = live_filter
        client.queue.clear()
        client.queue.put("reset", RESET)
        client.cursor = 0  # from nothing: every accepted state, and no drops

    def unsubscribe(self, client: Client) -> None:
        if client in self.pacer.clients:
            self.conflated_by_departed += client.conflated + client.queue.conflated
            self.departed += 1
        self.pacer.remove(client)

    def publish(self, key: str, message: bytes) -> None:
        self.seq += 1
        self.states.put(parse_entry(key, message, self.seq, self.districts))
        self.latest[key] = message
        self.last_message_at = time.monotonic()
        self.states_received += 1

    def publish_alert(self, alert_id: int, item: bytes) -> None:
        """An alert event, only to operator clients; conflated per alert."""
        self.alert_events += 1
        for client in self.clients:
            if client.operator:
                client.queue.put(f"alert:{alert_id}", item)

    def conflated_total(self) -> int:
        """States and events superseded before a client was sent them, since start:
        a counter, so clients that left still count."""
        live = sum(c.conflated + c.queue.conflated for c in self.clients)
        return self.conflated_by_departed + live

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
