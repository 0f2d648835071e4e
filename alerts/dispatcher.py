"""Sends what the outbox holds through one SmsProvider and records every outcome.

Exactly once, step by step:
1. Claim a batch: status 'sending' with a lease (`next_attempt_at = now + lease`),
   committed. Claimed rows are not yet handed to anyone.
2. Per row, just before `provider.send`: `handed_over_at = now()`, attempts + 1,
   committed. Only now can the gateway have the message.
3. After the answer: 'sent' (accepted), back to 'pending' with backoff and
   `handed_over_at = NULL` (refused: the gateway did not take it), or 'failed'.

After a crash (kill -9), rows of a dead dispatcher fall in two classes:
- claimed, never handed over (`handed_over_at IS NULL`): re-sent once the lease ends;
- handed over, no answer recorded: the *uncertainty window*, at most one row per
  dispatcher (sends are sequential). It is re-sent only after lease + `uncertain_grace_s`
  and only if no delivery report arrived. Kannel reports every message it took (dlr-mask
  31: type 8 when the SMSC takes it, type 1/2/16 after), so a message Kannel accepted
  has a report long before the grace ends while Kannel and the carrier run. Only if the
  gateway took the message and then lost it with its report can that row go twice; we
  prefer that to losing an alert.

The grace only counts while the gateway takes messages. A submit cut off as Kannel shut
down can sit in Kannel's store through an outage of any length and go out, with its
report, when Kannel is back; so uncertain rows are re-claimed only after this dispatcher
has seen the gateway take messages (or answer a probe) for `uncertain_grace_s`, and a
resend the gateway refuses leaves the row uncertain rather than plain pending.

A gateway that is down (connection refused, 5xx) does not use up attempts of the whole
batch: the first transport failure puts the rest of the batch back unsent. Retryable
failures keep trying (backoff with jitter, capped at `max_s`) for `give_up_after_s`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from alerts import heartbeat
from alerts.delivery import record_delivery_report
from alerts.dispatch_metrics import DispatchMetrics
from alerts.providers.base import (
    DeliveryReport,
    OutgoingSms,
    ReportSink,
    SmsProvider,
    SubmitResult,
)
from alerts.settings import RetryPolicy
from alerts.tables import outbox

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # the watchdog's threshold is a minute; the API's a few times this
PROBE_S = 2.0  # with nothing to send, ask a gateway not known to be up this often
APPLICATION_NAME = "citypulse-dispatcher"  # its connections in pg_stat_activity
# Errors after which the kept connection is dropped and the next round connects afresh. A
# read-only server is a primary demoted by a failover; connecting again with the HA
# conninfo's target_session_attrs=read-write finds the new one.
LOST_DATABASE = (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction)


@dataclass(frozen=True)
class _Claimed:
    oid: int
    message: OutgoingSms
    attempts: int
    age_s: float
    uncertain_since: datetime | None


class OutboxDispatcher:
    def __init__(
        self,
        conninfo: str,
        provider_factory: Callable[[ReportSink], SmsProvider],
        policy: RetryPolicy | None = None,
        batch_size: int | None = None,
        metrics: DispatchMetrics | None = None,
    ) -> None:
        self.conninfo = conninfo
        # Defaults, not the environment: entry points pass the `dispatch` section.
        self.policy = policy or RetryPolicy.model_construct()
        self.metrics = metrics or DispatchMetrics()  # default: counted, not served
        self.batch_size = batch_size or self.policy.batch_size
        self.provider = provider_factory(self.record_report)
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        # Since when (monotonic) the gateway has taken every submit; None: not known to.
        self._taking_since: float | None = None
        self._probed_at = float("-inf")
        # One connection for claims, answers and heartbeats, kept between rounds: opening
        # one per round cost 12 ms on an idle machine and far more with the city's load on
        # its cores, in front of every alert's first SMS (docs/benchmarks.md).
        self._conn: psycopg.AsyncConnection[Any] | None = None

    def _gateway_answered(self, result: SubmitResult) -> None:
        if result.accepted:
            if self._taking_since is None:
                self._taking_since = time.monotonic()
        elif result.retryable:  # down, cut off or in temporary trouble
            self._taking_since = None

    def _uncertain_ok(self) -> bool:
        """Has the gateway been taking messages for the uncertain grace? Only then has a
        message it held through an outage had time to go out and report."""
        since = self._taking_since
        return since is not None and time.monotonic() - since >= self.policy.uncertain_grace_s

    async def _probe(self) -> None:
        now = time.monotonic()
        if self._taking_since is None and now - self._probed_at >= PROBE_S:
            self._probed_at = now
            if await self.provider.reachable():
                self._taking_since = now

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, application_name=APPLICATION_NAME
        )

    async def _db(self) -> psycopg.AsyncConnection[Any]:
        """The kept connection; a new one when there is none or it broke."""
        if self._conn is None or self._conn.closed:
            self._conn = await self._connect()
        return self._conn

    async def _drop_db(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def aclose(self) -> None:
        """Close the kept connection and the provider; `run` does this when it stops."""
        try:
            await self._drop_db()
        finally:
            await self.provider.aclose()

    async def record_report(self, report: DeliveryReport) -> None:
        await record_delivery_report(self.conninfo, report)
        self.metrics.delivery_reports.labels(status=report.status).inc()

    async def dispatch_once(self) -> int:
        """Claim and send one batch; returns how many were handed to the gateway."""
        try:
            claimed = await self._claim()
            if not claimed:
                await self._probe()
                return 0
            return await self._send(await self._db(), claimed)
        except LOST_DATABASE:
            await self._drop_db()  # the next round connects afresh
            raise

    async def _claim(self) -> list[_Claimed]:
        """Claim a batch. A kept connection the server or a network hop closed while it
        sat idle is seen only now: then connect again and claim at once, so an alert
        after a quiet spell does not wait a round (and is not logged as an outage)."""
        kept = self._conn is not None and not self._conn.closed
        try:
            return await self._claim_on(await self._db())
        except psycopg.OperationalError as exc:
            if not kept:
                raise
            log.info("kept outbox connection lost (%s); connecting again", exc)
            await self._drop_db()
            return await self._claim_on(await self._db())

    async def _claim_on(self, conn: psycopg.AsyncConnection[Any]) -> list[_Claimed]:
        p = self.policy
        return [
            _Claimed(c.oid, OutgoingSms(str(c.oid), c.phone_e164, c.body, c.kind, c.subject),
                     c.attempts, c.age_s, c.uncertain_since)
            for c in await outbox.claim(
                conn, lease=timedelta(seconds=p.lease_s),
                grace=timedelta(seconds=p.uncertain_grace_s), limit=self.batch_size,
                provider=self.provider.name, uncertain_ok=self._uncertain_ok(),
            )
        ]  # fmt: skip

    async def _send(self, conn: psycopg.AsyncConnection[Any], claimed: list[_Claimed]) -> int:
        """Hand the claimed rows to the gateway one at a time, recording each answer."""
        p = self.policy
        lease = timedelta(seconds=p.lease_s)
        handed = 0
        for i, row in enumerate(claimed):
            await outbox.hand_over(conn, row.oid, lease)
            handed += 1
            result = await self.metrics.timed_send(self.provider, row.message)
            self._gateway_answered(result)
            attempts = row.attempts + 1
            if result.accepted:
                await outbox.accepted(conn, row.oid, result.provider_message_id)
            elif result.uncertain:
                # Left 'sending' and handed over: a claim takes it again only after the
                # lease and the uncertain grace pass with no delivery report.
                rest = [r.oid for r in claimed[i + 1 :]]
                await outbox.unclaim(conn, rest, timedelta(seconds=p.backoff(2, self._rng)))
                log.warning(
                    "gateway did not answer for message %s (%s); %d put back",
                    row.oid, result.error, len(rest),
                )  # fmt: skip
                break
            elif result.retryable and not p.gives_up(attempts, float(row.age_s)):
                delay = timedelta(seconds=p.backoff(attempts, self._rng))
                if row.uncertain_since is None:
                    await outbox.retry_later(conn, row.oid, result.error, delay)
                else:  # not taken now, but the gateway may still hold the first submit
                    await outbox.retry_uncertain(
                        conn, row.oid, row.uncertain_since, result.error, delay
                    )
                # The gateway is in trouble: the rest of the batch waits unsent.
                rest = [r.oid for r in claimed[i + 1 :]]
                await outbox.unclaim(conn, rest, delay)
                log.warning("gateway refused (%s); %d put back", result.error, len(rest))
                break
            else:
                await outbox.failed(conn, row.oid, result.error)
        return handed

    async def run(self, stop: asyncio.Event, idle_s: float = 0.5) -> None:
        """Dispatch until `stop`; between empty rounds, sleep until a new outbox row is
        announced (LISTEN) or `idle_s` passes (retries that come due are not announced)."""
        listener: psycopg.AsyncConnection[Any] | None = None
        started, beat_at = datetime.now(UTC), -HEARTBEAT_S
        try:
            while not stop.is_set():
                try:
                    sent = await self.dispatch_once()
                    beat_at = await self._beat(started, beat_at)
                except LOST_DATABASE as exc:
                    await self._drop_db()
                    log.warning("outbox unavailable (%s); retrying", exc)
                    sent = 0
                if sent == 0:
                    listener = await self._idle(listener, stop, idle_s)
        finally:
            if listener is not None:
                await listener.close()
            await self.aclose()

    async def _beat(self, started: datetime, beat_at: float) -> float:
        """A heartbeat row every HEARTBEAT_S, from the loop itself: a stuck loop stops it."""
        now = asyncio.get_running_loop().time()
        if now - beat_at < HEARTBEAT_S:
            return beat_at
        await heartbeat.beat(await self._db(), "dispatcher", started)
        return now

    async def _idle(
        self, listener: psycopg.AsyncConnection[Any] | None, stop: asyncio.Event, idle_s: float
    ) -> psycopg.AsyncConnection[Any] | None:
        """Wait up to `idle_s` for an announcement or `stop`; returns the listener to keep."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + idle_s
        try:
            if listener is None or listener.closed:
                listener = await self._listen()
            while not stop.is_set() and (left := deadline - loop.time()) > 0:
                announced = False
                # In slices, so `stop` is seen within half a second of a long idle.
                async for _ in listener.notifies(timeout=min(left, 0.5), stop_after=1):
                    announced = True
                if announced:
                    break
            return listener
        except psycopg.OperationalError as exc:  # the database is away: poll until it is back
            log.info("outbox listener unavailable: %s", exc)
            if listener is not None:
                await listener.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), idle_s)
            return None

    async def _listen(self) -> psycopg.AsyncConnection[Any]:
        conn = await self._connect()
        await outbox.listen(conn)
        return conn
