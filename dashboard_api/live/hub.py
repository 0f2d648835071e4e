"""Reads the compacted area-state topic and fans each state out to websocket clients.

The hub keeps the newest state per key (a snapshot for new clients) and one
ConflatingQueue per client. It reads without a consumer group from the beginning of the
compacted topic, so every API process holds the full current picture on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from dashboard_api.live.conflate import ConflatingQueue

log = logging.getLogger(__name__)


@dataclass(eq=False)  # identity, so clients can live in a set
class Client:
    queue: ConflatingQueue = field(default_factory=ConflatingQueue)


class AreaStateHub:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.latest: dict[str, bytes] = {}
        self.clients: set[Client] = set()
        self.last_message_at: float | None = None
        self.connected = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="area-state-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def subscribe(self) -> Client:
        client = Client()
        for key, message in self.latest.items():
            client.queue.put(key, message)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        self.clients.discard(client)

    def publish(self, key: str, message: bytes) -> None:
        self.latest[key] = message
        self.last_message_at = time.monotonic()
        for client in self.clients:
            client.queue.put(key, message)

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


def heartbeat_frame() -> str:
    return json.dumps({"type": "heartbeat", "ts": time.time()})
