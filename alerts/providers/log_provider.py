"""LogProvider: the default when no gateway is configured.

It writes the message to the log (number masked) and reports it accepted and then
'delivered' at once. That report is NOT a real delivery: nothing left this process.
It exists so the whole alert path (outbox, dispatcher, delivery bookkeeping) runs on a
developer machine; `provider_status` says "log-only" so no one mistakes it.
"""

from __future__ import annotations

import asyncio
import logging

from alerts.providers.base import (
    DeliveryReport,
    OutgoingSms,
    ReportSink,
    SubmitResult,
)
from alerts.providers.clock import Clock, utc_now
from citypulse.domain.phones import mask_phone

log = logging.getLogger(__name__)

LOG_ONLY_STATUS = "log-only: not sent to any carrier"


class LogProvider:
    name = "log"

    def __init__(self, on_report: ReportSink, *, clock: Clock = utc_now) -> None:
        self._on_report = on_report
        self._clock = clock
        self._count = 0
        self._pending: set[asyncio.Future[None]] = set()

    async def send(self, message: OutgoingSms) -> SubmitResult:
        self._count += 1
        provider_id = f"log-{self._count}"
        log.info(
            "SMS (log only) id=%s to=%s kind=%s chars=%d: %s",
            message.message_id,
            mask_phone(message.to),
            message.kind,
            len(message.body()),
            message.body(),
        )
        report = DeliveryReport(
            message_id=message.message_id,
            status="delivered",
            provider_status=LOG_ONLY_STATUS,
            at=self._clock(),
            provider_message_id=provider_id,
        )
        # Reported just after send returns, as a real gateway would: the dispatcher
        # records the submit first (it must cope with the other order too).
        task: asyncio.Future[None] = asyncio.ensure_future(self._on_report(report))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return SubmitResult.ok(provider_id)

    async def reachable(self) -> bool:
        return True

    async def aclose(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending)
