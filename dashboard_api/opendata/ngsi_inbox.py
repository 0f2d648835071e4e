"""NGSI v2 and NGSI-LD notifications (Orion, Orion-LD, Scorpio, Stellio) to city events.

A notification's entities are read by the FIWARE file adapter and published to the
city-events topic by the same publisher as every other source, so the worker's checks,
duplicate detection and dead letters apply to them unchanged. The inbox itself only
refuses what is not a notification and remembers what it published, so a broker that
re-sends a notification (a timeout on its side, a retry) publishes nothing new.
"""

from __future__ import annotations

import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sensors.adapters.fiware import zone_count_from_entity
from sensors.adapters.reject import Reject
from sensors.events import ZoneCount
from sensors.publisher import EventSink
from sensors.registry import Hotspot, Zone

Flavour = Literal["v2", "ld"]
Key = tuple[str, str, str]  # notification (LD id, v2 subscription), entity, event id


class NotANotification(ValueError):
    """The body is not a notification of the flavour the route receives (HTTP 400)."""


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no configured token refuses everyone."""
    if not expected or presented is None:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def bearer_of(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@dataclass
class InboxResult:
    published: list[ZoneCount] = field(default_factory=list)
    repeated: int = 0
    rejects: list[Reject] = field(default_factory=list)

    def body(self) -> dict[str, object]:
        return {
            "published": len(self.published),
            "repeated": self.repeated,
            "rejected": [
                {"record": r.record, "field": r.field, "reason": r.reason} for r in self.rejects
            ],
        }


def notification_parts(body: bytes, flavour: Flavour) -> tuple[str, list[object]]:
    """(the notification's idempotency key, its entities), or NotANotification."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise NotANotification(f"not JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict):
        raise NotANotification("not a JSON object")
    data = doc.get("data")
    if isinstance(data, dict) and data.get("type") == "FeatureCollection":
        data = data.get("features")  # NGSI-LD `format: geojson`
    if not isinstance(data, list):
        raise NotANotification("no 'data' list of entities (or FeatureCollection)")
    if flavour == "ld":
        if doc.get("type") != "Notification":
            raise NotANotification("an NGSI-LD notification has type 'Notification'")
        key = doc.get("id")
    else:
        key = doc.get("subscriptionId")
    if not isinstance(key, str) or not key or len(key) > 256:
        what = "'id'" if flavour == "ld" else "'subscriptionId'"
        raise NotANotification(f"no {what} of at most 256 characters")
    return key, data


class RecentKeys:
    """The newest keys seen, bounded; thread-safe (routes publish from worker threads)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._keys: OrderedDict[Key, None] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: Key) -> bool:
        """True if the key is new (and now remembered); False if it was seen."""
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self.capacity:
                self._keys.popitem(last=False)
            return True

    def forget(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._keys.pop(key, None)


class NotificationInbox:
    def __init__(
        self, sink: EventSink, hotspots: Iterable[Hotspot], *, memory: int = 100_000
    ) -> None:
        self.sink = sink
        self.hotspots = list(hotspots)
        self.recent = RecentKeys(memory)

    def receive(
        self, body: bytes, flavour: Flavour, zones: Mapping[str, Zone], now: datetime
    ) -> InboxResult:
        """Publish the notification's new CrowdFlowObserved entities; blocking (Kafka)."""
        key, entities = notification_parts(body, flavour)
        result = InboxResult()
        claimed: list[Key] = []
        for record, entity in enumerate(entities, start=1):
            item = zone_count_from_entity(
                entity,
                zones=zones,
                hotspots=self.hotspots,
                source_file=f"ngsi-{flavour}:{key}",
                record=record,
                ingest_time=now,
            )
            if isinstance(item, Reject):
                result.rejects.append(item)
            elif self.recent.claim(k := (key, item.counter_id, item.event_id)):
                claimed.append(k)
                result.published.append(item)
            else:
                result.repeated += 1
        try:
            for event in result.published:
                self.sink.publish(event)
            self.sink.flush()
        except Exception:
            self.recent.forget(claimed)  # not published: a retry must publish it
            raise
        return result
