"""AlertService: the alert path (alerts/pipeline) wired to the database, for the worker's
agent and timers.

    AreaState ─▶ path.on_state (evaluate, startup grace, feed outage, silence/inhibit)
        ─▶ per change, ONE transaction: lock the open record by dedup key
        ─▶ apply_decision ─▶ alert row + audit ─▶ notifications: outbox rows now
           (fan out, rate limit, render), or a stored row waiting for the district's
           grouping window (NotificationBatcher)

Timers: `sweep` (data gaps), `tick` (reminders, tier chain, unmute), `flush` (grouped
batches due), `sync` (operator resolutions -> engine.release, silences, recipients),
`reload_thresholds` (operator thresholds and event days -> the engine's policy).
Operators act through alerts/operations.py on the same rows; the worker sees a manual
resolution on its next `sync` (or at once, when a decision finds the record closed).
One connection, used under one lock: agent and timers share the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from alerts.lifecycle import (
    AlertRecord,
    AlertStatus,
    InvalidTransition,
    Notification,
    TemplateKind,
    Transition,
    apply_decision,
    tick,
    unmute,
)
from alerts.phone_ack.links import LinkMaker
from alerts.pipeline import build_alert_path
from alerts.pipeline.deliver import Budget, budget_key
from alerts.pipeline.feeds import is_feed
from alerts.pipeline.outbox import queue_sms
from alerts.playbooks import AreaType, PlaybookGuide, area_type_for
from alerts.recipients import RecipientDirectory
from alerts.rules import (
    AlertDecision,
    AreaInfo,
    Deescalate,
    Escalate,
    Fire,
    NoChange,
    OpenAlert,
    Resolve,
)
from alerts.settings import AlertSettings
from alerts.tables import alerts as alert_table
from alerts.tables import notifications as notification_table
from alerts.tables import outbox as outbox_table
from alerts.tables import playbooks as playbook_table
from alerts.tables import recipients as recipient_table
from alerts.tables import silences as silence_table
from alerts.tables.alert_rows import alert_db_id, alert_id_text, stage_from_name
from citypulse.domain.area_state import AreaState
from citypulse.domain.stages import Stage
from citypulse.domain.threshold_reader import read_book_async

log = logging.getLogger(__name__)
Change = Fire | Escalate | Deescalate | Resolve
_RELEASE_LOOKBACK = timedelta(hours=1)


class AlertService:
    def __init__(
        self,
        conninfo: str,
        areas: Mapping[str, AreaInfo],
        settings: AlertSettings | None = None,
        links: LinkMaker | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.areas = areas
        self.settings = settings or AlertSettings()
        # The same construction bench/alert_quality.py measures.
        self.path = build_alert_path(self.settings, areas, links=links)
        self.engine = self.path.engine
        self.escalation = self.settings.escalation()
        self.limiter = self.path.rate_limit.limiter
        self.batcher = self.path.group.batcher
        self.directory = RecipientDirectory(())
        self._released: dict[int, datetime] = {}  # manual resolutions already released
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()
        self.started = False

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    # -- start ---------------------------------------------------------------------------

    async def start(self, now: datetime) -> None:
        """Rebuild from the database: thresholds, open alerts, waiting notifications,
        recent sends (rate limits), silences and recipients."""
        async with self._lock:
            conn = await self._connection()
            self.engine.policy = self.settings.policy(await read_book_async(conn, now))
            opened = await alert_table.open_alerts(conn)
            self.engine.restore([a for a in opened if not is_feed(a.subject.key)], now)
            self.path.start(opened, now)
            pending = await notification_table.waiting(conn)
            full = self.batcher.restore(
                [(r["id"], r["district"], stage_from_name(r["stage"]), now) for r in pending]
            )
            window = timedelta(seconds=self.limiter.window_s)
            for sent in await outbox_table.recent_sends(conn, now - window):
                budget: Budget = "technical" if sent.technical else "crowd"
                stage = stage_from_name(sent.stage) if sent.stage else Stage.NORMAL
                self.limiter.count(budget_key(budget, sent.recipient_id), stage, sent.created_at)
            await self._sync(conn, now, first=True)
            self.started = True
            log.info("alert engine restored %d open alerts, %d waiting notifications",
                     len(opened), len(pending))  # fmt: skip
        for batch in full:
            await self._flush_batch(batch, now)

    # -- inputs --------------------------------------------------------------------------

    async def on_state(self, state: AreaState, now: datetime) -> list[Change]:
        changes = self.path.on_state(state, now)
        await self.apply(changes, now)
        return changes

    async def sweep(self, now: datetime) -> None:
        await self.apply(self.path.on_sweep(now), now)

    async def apply(self, decisions: Sequence[AlertDecision], now: datetime) -> None:
        for d in decisions:
            if isinstance(d, NoChange):
                continue
            try:
                async with self._lock:
                    await self._apply(await self._connection(), d, now)
            except psycopg.Error as exc:
                log.warning("alert change %s not stored (%s); engine rolled back", d.dedup_key, exc)
                self._rollback_engine(d)
                self._conn = None if isinstance(exc, psycopg.OperationalError) else self._conn

    async def _apply(self, conn: psycopg.AsyncConnection[Any], d: Change, now: datetime) -> None:
        async with conn.transaction():
            record = await alert_table.lock_open_by_key(conn, d.dedup_key)
            new_id: int | None = None
            if isinstance(d, Fire):
                if record is not None:  # e.g. a second worker opened it first
                    log.info("%s already open as %s", d.dedup_key, record.alert_id)
                    return
                new_id = await alert_table.next_alert_id(conn)
            try:
                tr = apply_decision(
                    record, d, now, self.escalation,
                    new_alert_id=None if new_id is None else alert_id_text(new_id),
                )  # fmt: skip
            except InvalidTransition:
                # An operator resolved it by hand: fire again only after a fresh hold.
                self.path.release(d.dedup_key)
                return
            if tr is None:
                return
            await alert_table.write_transition(conn, tr, new=new_id is not None)
            await self._announce(conn, tr.notifications, now)

    def _rollback_engine(self, d: Change) -> None:
        """The database did not take the change: make the engine decide it again."""
        self.path.rolled_back(d)
        if is_feed(d.subject.key):
            return
        if isinstance(d, Fire):
            self.engine.release(d.dedup_key)
            return
        level = d.severity if isinstance(d, Resolve) else d.previous
        self.engine.restore([OpenAlert(d.dedup_key, d.subject, d.rule, level)], d.decided_at)

    async def _announce(
        self, conn: psycopg.AsyncConnection[Any], notes: Sequence[Notification], now: datetime
    ) -> None:
        for n in notes:
            if self.path.group.send_now(n, now):
                await queue_sms(conn, self.path.deliver([n], self.directory, now), now)
                continue
            row_id = await notification_table.hold(conn, n)
            for batch in self.batcher.add(row_id, n.district, n.record.severity, now):
                await self._queue_batch(conn, batch, now)

    # -- timers --------------------------------------------------------------------------

    async def tick(self, now: datetime) -> int:
        """Reminders, the tier chain and unmuting for every open, unacknowledged alert."""
        async with self._lock:
            conn = await self._connection()
            ids = await alert_table.unacknowledged_ids(conn)
        changed = 0
        for db_id in ids:
            async with self._lock:
                conn = await self._connection()
                async with conn.transaction():
                    record = await alert_table.lock_by_id(conn, db_id)
                    if record is None or record.status is not AlertStatus.OPEN:
                        continue
                    tr = await self._tick_one(conn, record, now)
                    if tr.record is not record:
                        await alert_table.write_transition(conn, tr)
                        await self._announce(conn, tr.notifications, now)
                        changed += 1
        return changed

    async def _tick_one(
        self, conn: psycopg.AsyncConnection[Any], record: AlertRecord, now: datetime
    ) -> Transition:
        m = record.muted
        if m is None:
            return tick(record, now, self.escalation)
        if m.kind == "silence":
            still = any(s.silence_id == m.by and s.active(now) for s in self.engine.silences)
        else:
            still = await alert_table.serious_open_in_area(
                conn, record.subject.area_code, alert_db_id(record.alert_id)
            )
        return Transition(record) if still else unmute(record, now, self.escalation)

    async def flush(self, now: datetime) -> None:
        for batch in self.batcher.due(now):
            await self._flush_batch(batch, now)

    async def _flush_batch(self, batch: list[int], now: datetime) -> None:
        async with self._lock:
            conn = await self._connection()
            async with conn.transaction():
                await self._queue_batch(conn, batch, now)

    async def _queue_batch(
        self, conn: psycopg.AsyncConnection[Any], batch: list[int], now: datetime
    ) -> None:
        rows = await notification_table.take(conn, batch)
        records = await alert_table.records_by_ids(conn, [int(r["alert_id"]) for r in rows])
        # A FIRE whose alert closed while it waited is dropped: its resolution went out.
        notes = [
            Notification(rec.alert_id, TemplateKind(r["template"]), frozenset(r["tiers"]), rec)
            for r in rows
            if (rec := records.get(int(r["alert_id"]))) is not None and rec.is_open
        ]
        if notes:
            await queue_sms(conn, self.path.deliver(notes, self.directory, now), now)
        await notification_table.mark_queued(conn, [r["id"] for r in rows], now)

    async def reload_thresholds(self, now: datetime) -> None:
        """Operator thresholds and event days from the database into the rules; a failed
        read raises and leaves the current policy in place."""
        async with self._lock:
            book = await read_book_async(await self._connection(), now)
            self.engine.policy = self.settings.policy(book)

    async def sync(self, now: datetime) -> None:
        async with self._lock:
            await self._sync(await self._connection(), now)

    async def _sync(
        self, conn: psycopg.AsyncConnection[Any], now: datetime, first: bool = False
    ) -> None:
        """Pick up what operators changed: manual resolutions, silences, recipients."""
        for db_id, key in await alert_table.resolved_by_hand_since(conn, now - _RELEASE_LOOKBACK):
            if db_id not in self._released:
                self._released[db_id] = now
                if not first:
                    self.path.release(key)
        cutoff = now - 2 * _RELEASE_LOOKBACK
        self._released = {k: t for k, t in self._released.items() if t > cutoff}
        self.engine.replace_silences(await silence_table.not_over(conn, now))
        self.directory = await recipient_table.load_directory(conn)
        self.path.render.guide = PlaybookGuide(
            await playbook_table.load_book(conn),
            self._area_types(await playbook_table.zone_names(conn)),
        )

    def _area_types(self, zones: Mapping[tuple[str, str], str]) -> dict[str, AreaType]:
        """Each area's and zone's playbook area type, keyed like an alert subject."""
        types: dict[str, AreaType] = {
            code: area_type_for(a.category, code) for code, a in self.areas.items()
        }
        for (code, zone_id), name in zones.items():
            category = self.areas[code].category if code in self.areas else ""
            types[f"{code}/{zone_id}"] = area_type_for(category, code, name)
        return types
