"""A submit cut off as the gateway goes down, then an outage longer than the grace.

Kannel keeps what smsbox had passed on in its store and sends it, with its report, when
it is back. The dispatcher must not resend such a message during the outage (where a
refusal would turn it into a plain pending row) nor as soon as the gateway returns, yet a
message the gateway really lost must still go out. The gateway here is scripted so both
cases happen on every run; test_alerts_kannel_delivery.py shows the same with real Kannel
when the timing falls that way.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import psycopg
import pytest

from alerts.dispatcher import OutboxDispatcher
from alerts.providers.base import DeliveryReport, OutgoingSms, ReportSink, SubmitResult
from alerts.settings import RetryPolicy
from citypulse.config import StackSettings

pytestmark = pytest.mark.integration

DB = psycopg.Connection[tuple[object, ...]]
POLICY = RetryPolicy(lease_s=0.5, uncertain_grace_s=2.0, base_s=0.1, max_s=0.3)


class CutOffGateway:
    """Takes the first submit, then drops the connection and stays down until `back()`.
    With `keeps=True` it holds that first message and sends it (and reports it) a second
    after it is back, as Kannel does from its store; otherwise the message is lost."""

    name = "cutoff"

    def __init__(self, sink: ReportSink, *, keeps: bool) -> None:
        self.sink, self.keeps = sink, keeps
        self.up = True
        self.held: OutgoingSms | None = None
        self.taken: Counter[str] = Counter()  # what reached the carrier, per message
        self.taken_at: dict[str, float] = {}
        self.back_at = 0.0
        self._tasks: set[asyncio.Future[None]] = set()

    async def send(self, message: OutgoingSms) -> SubmitResult:
        if not self.up:
            return SubmitResult.retry("unreachable: connection refused")
        if self.held is None:
            self.held, self.up = message, False
            return SubmitResult.unanswered("server disconnected without sending a response")
        self._carry(message)
        return SubmitResult.ok(message.message_id)

    async def reachable(self) -> bool:
        return self.up

    def back(self) -> None:
        self.up, self.back_at = True, time.monotonic()
        if self.keeps and self.held is not None:
            task = asyncio.create_task(self._from_store(self.held))
            self._tasks.add(task)

    async def _from_store(self, message: OutgoingSms) -> None:
        await asyncio.sleep(1.0)
        self._carry(message)

    def _carry(self, message: OutgoingSms) -> None:
        self.taken[message.message_id] += 1
        self.taken_at[message.message_id] = time.monotonic()
        report = DeliveryReport(message.message_id, "delivered", "DELIVRD", datetime.now(UTC))
        task: asyncio.Future[None] = asyncio.ensure_future(self.sink(report))
        self._tasks.add(task)

    async def aclose(self) -> None:
        await asyncio.gather(*self._tasks)


def _queue(db: DB, n: int) -> list[str]:
    rows = db.execute(
        "INSERT INTO sms_outbox (phone_e164, kind, body) "
        "SELECT '+8210555' || lpad(i::text, 5, '0'), 'sms', '[인파경계] test' "
        "FROM generate_series(1, %s) AS i RETURNING id",
        (n,),
    ).fetchall()
    return [str(oid) for (oid,) in rows]


async def _run(
    dispatcher: OutboxDispatcher, gateway: CutOffGateway, outage_s: float, after_s: float
) -> None:
    """Dispatch through an outage of `outage_s` after the cut-off, then `after_s` more."""
    while gateway.held is None:
        await dispatcher.dispatch_once()
    down_until = time.monotonic() + outage_s
    while time.monotonic() < down_until:
        await dispatcher.dispatch_once()
        await asyncio.sleep(0.05)
    gateway.back()
    end = time.monotonic() + after_s
    while time.monotonic() < end:
        await dispatcher.dispatch_once()
        await asyncio.sleep(0.05)
    await dispatcher.aclose()


async def test_a_message_the_gateway_kept_through_a_long_outage_goes_out_once(
    isolated: StackSettings, db: DB
) -> None:
    oids = _queue(db, 5)
    gateway: CutOffGateway | None = None

    def build(sink: ReportSink) -> CutOffGateway:
        nonlocal gateway
        gateway = CutOffGateway(sink, keeps=True)
        return gateway

    dispatcher = OutboxDispatcher(isolated.db_conninfo, build, POLICY, batch_size=2)
    assert gateway is not None
    # The outage is four times lease + grace: the old rule resent the cut-off message in it.
    await _run(dispatcher, gateway, outage_s=10.0, after_s=6.0)
    assert gateway.held is not None
    assert sorted(gateway.taken) == sorted(oids)
    assert set(gateway.taken.values()) == {1}, f"sent twice: {gateway.taken}"
    statuses = Counter(str(s) for (s,) in db.execute("SELECT status FROM sms_outbox"))
    assert statuses == {"delivered": 5}


async def test_a_message_the_gateway_lost_is_resent_once_it_has_been_back_for_the_grace(
    isolated: StackSettings, db: DB
) -> None:
    (oid,) = _queue(db, 1)  # alone: only the probe can tell the dispatcher the gateway is back
    gateway: CutOffGateway | None = None

    def build(sink: ReportSink) -> CutOffGateway:
        nonlocal gateway
        gateway = CutOffGateway(sink, keeps=False)
        return gateway

    dispatcher = OutboxDispatcher(isolated.db_conninfo, build, POLICY)
    assert gateway is not None
    await _run(dispatcher, gateway, outage_s=5.0, after_s=6.0)
    assert gateway.taken == {oid: 1}, "the lost message was not sent again"
    assert gateway.taken_at[oid] - gateway.back_at >= POLICY.uncertain_grace_s
    (status,) = db.execute("SELECT status FROM sms_outbox").fetchone() or ("",)
    assert status == "delivered"
