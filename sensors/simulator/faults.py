"""Sensor faults: rewrite a clean emission stream the way real feeds go wrong.

Device faults (dropout, stuck value, spikes, duplicates, out-of-order delivery, clock
skew) act on emissions of one device inside a time window; malformed payloads are bytes
derived from a valid event with one deliberate defect each.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import numpy as np

from sensors.events import MAX_EVENT_BYTES
from sensors.simulator.records import DefectKind, Emission, MalformedPayload, Values

FaultKind = Literal["dropout", "stuck", "spike", "duplicate", "out_of_order", "clock_skew"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "dropout",
    "stuck",
    "spike",
    "duplicate",
    "out_of_order",
    "clock_skew",
)
SPIKE_FACTOR = 12
SPIKE_PROBABILITY = 0.3


@dataclass(frozen=True)
class DeviceFault:
    """One fault of one device (area code, counter id or S-DoT serial) in a window."""

    kind: FaultKind
    device_id: str
    start_after: timedelta  # from the simulation start
    length: timedelta
    shift: timedelta = timedelta(0)  # clock skew of event_time, or delay of out-of-order

    def active(self, offset: timedelta) -> bool:
        return self.start_after <= offset < self.start_after + self.length


@dataclass(frozen=True)
class MalformedAt:
    defect: DefectKind
    after: timedelta


@dataclass(frozen=True)
class FaultPlan:
    device_faults: tuple[DeviceFault, ...] = ()
    malformed: tuple[MalformedAt, ...] = ()


def _is_telecom(em: Emission) -> bool:
    return em.kind == "population_estimate"


def _scaled(em: Emission, factor: float) -> Values:
    if em.kind == "zone_count":
        return (int(int(em.values[0] or 0) * factor),)
    if em.kind == "population_estimate":
        lo, hi, label, *forecast = em.values  # Seoul's forecast does not see the fault
        return (int(int(lo or 0) * factor), int(int(hi or 0) * factor), label, *forecast)
    *env, visitors = em.values
    return (*env, int(int(visitors or 0) * factor))


@dataclass
class FaultInjector:
    """Applies a FaultPlan to emissions in event-time order; out-of-order ones come out late."""

    plan: FaultPlan
    start: datetime
    rng: np.random.Generator
    _stuck: dict[str, Values] = field(default_factory=dict)
    _held: list[tuple[datetime, int, Emission]] = field(default_factory=list)
    _seq: int = 0

    def apply(self, emissions: Iterable[Emission]) -> Iterator[Emission]:
        by_device: dict[str, list[DeviceFault]] = {}
        for fault in self.plan.device_faults:
            by_device.setdefault(fault.device_id, []).append(fault)
        for em in emissions:
            yield from self._release(em.event_time)
            faults = by_device.get(em.device_id)
            if not faults:
                yield em
                continue
            yield from self._inject(em, faults)
        yield from self._release(None)

    def _inject(self, em: Emission, faults: list[DeviceFault]) -> Iterator[Emission]:
        offset = em.event_time - self.start
        copies = 1
        for fault in faults:
            if not fault.active(offset):
                if fault.kind == "stuck":
                    self._stuck.pop(em.device_id, None)
                continue
            if fault.kind == "dropout":
                return
            if fault.kind == "stuck":
                # The reading sticks; Seoul's forecast (telecom) is not the device's and
                # stays current, so a long fault never carries hours-old forecast times.
                held = self._stuck.setdefault(
                    em.device_id, em.values[:3] if _is_telecom(em) else em.values
                )
                em = em._replace(values=(*held, *em.values[3:]) if _is_telecom(em) else held)
            elif fault.kind == "spike" and self.rng.random() < SPIKE_PROBABILITY:
                em = em._replace(values=_scaled(em, SPIKE_FACTOR))
            elif fault.kind == "duplicate":
                copies = 2
            elif fault.kind == "clock_skew":
                em = em._replace(event_time=em.event_time + fault.shift)
            elif fault.kind == "out_of_order":
                release = em.ingest_time + fault.shift
                self._seq += 1
                heapq.heappush(self._held, (release, self._seq, em._replace(ingest_time=release)))
                return
        for _ in range(copies):
            yield em

    def _release(self, now: datetime | None) -> Iterator[Emission]:
        while self._held and (now is None or self._held[0][0] <= now):
            yield heapq.heappop(self._held)[2]


def malformed_payload(
    defect: DefectKind, key: bytes | None, valid: bytes, emitted_at: datetime
) -> MalformedPayload:
    """Derive bytes with exactly one defect from a valid zone-count event's JSON."""
    doc = json.loads(valid)
    if defect == "not_json":
        value = valid[: len(valid) // 2]
    elif defect == "oversized":
        doc["padding"] = "x" * (MAX_EVENT_BYTES + 1024)
        value = json.dumps(doc, ensure_ascii=False).encode()
    else:
        if defect == "unknown_kind":
            doc["kind"] = "crowd_guess"
        elif defect == "missing_field":
            del doc["area_code"]
        elif defect == "negative_count":
            doc["count"] = -int(doc["count"]) - 1
        elif defect == "wrong_type":
            doc["count"] = "many"
        elif defect == "far_future_time":
            # Past datetime's range (year 10000): no schema accepts it. A plausible but
            # future time (2099) is an event the validator must judge against `now`.
            doc["event_time"] = "10000-01-01T00:00:00+09:00"
        elif defect == "unknown_area":
            doc["area_code"] = "POI9999"
        value = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return MalformedPayload(key=key, value=value, defect=defect, emitted_at=emitted_at)
