"""Sends what the outbox holds through one SmsProvider and records every outcome.

A row is claimed ('sending', attempts + 1, a lease) and committed before the provider is
called. After a crash, a claimed row whose lease ran out is sent again only if no
delivery report arrived for it in the meantime; so a restart neither drops a message
nor, when the gateway reports back, sends it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from alerts.delivery import record_delivery_report
from alerts.providers.base import DeliveryReport, OutgoingSms, ReportSink, SmsProvider

log = logging.getLogger(__name__)

_CLAIM = """
UPDATE sms_outbox o SET status = 'sending', attempts = o.attempts + 1,
       next_attempt_at = now() + %(lease)s, provider = %(provider)s
 WHERE o.id IN (
    SELECT id FROM sms_outbox
     WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()
       AND NOT EXISTS (SELECT 1 FROM delivery_reports r WHERE r.outbox_id = sms_outbox.id)
     ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
RETURNING o.id, o.phone_e164, o.kind, o.subject, o.body, o.attempts
"""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_s: float = 1.0
    max_s: float = 300.0
    lease_s: float = 30.0  # how long a claimed row waits for its outcome before a retry

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter, so a gateway coming back is not stampeded."""
        return rng.uniform(0, min(self.max_s, self.base_s * 2 ** (attempt - 1)))


class OutboxDispatcher:
    def __init__(
        self,
        conninfo: str,
        provider_factory: Callable[[ReportSink], SmsProvider],
        policy: RetryPolicy | None = None,
        batch_size: int = 50,
    ) -> None:
        self.conninfo = conninfo
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self.provider = provider_factory(self.record_report)
        self._rng = random.Random()  # noqa: S311 - jitter, not security

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)

    async def record_report(self, report: DeliveryReport) -> None:
        await record_delivery_report(self.conninfo, report)

    async def dispatch_once(self) -> int:
        async with await self._connect() as conn:
            rows = await (
                await conn.execute(
                    _CLAIM,
                    {
                        "lease": timedelta(seconds=self.policy.lease_s),
                        "limit": self.batch_size,
                        "provider": self.provider.name,
                    },
                )
            ).fetchall()
            for oid, phone, kind, subject, body, attempts in rows:
                msg = OutgoingSms(str(oid), str(phone), str(body), kind, subject)  # type: ignore[arg-type]
                result = await self.provider.send(msg)
                if result.accepted:
                    await conn.execute(
                        "UPDATE sms_outbox SET status = CASE WHEN status = 'sending' THEN 'sent' "
                        "ELSE status END, sent_at = now(), provider_message_id = %s, "
                        "last_error = NULL WHERE id = %s",
                        (result.provider_message_id, oid),
                    )
                elif result.retryable and int(str(attempts)) < self.policy.max_attempts:
                    delay = self.policy.backoff(int(str(attempts)), self._rng)
                    await conn.execute(
                        "UPDATE sms_outbox SET status = 'pending', last_error = %s, "
                        "next_attempt_at = now() + %s WHERE id = %s",
                        (result.error, timedelta(seconds=delay), oid),
                    )
                else:
                    await conn.execute(
                        "UPDATE sms_outbox SET status = 'failed', last_error = %s, "
                        "final_at = now() WHERE id = %s",
                        (result.error, oid),
                    )
            return len(rows)

    async def run(self, stop: asyncio.Event, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                sent = await self.dispatch_once()
            except psycopg.OperationalError as exc:
                log.warning("outbox unavailable (%s); retrying", exc)
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_s)
        await self.provider.aclose()
