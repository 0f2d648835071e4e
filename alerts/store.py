"""The database edge of alerting: alert rows, their audit trail and the SMS outbox.

An alert change and the SMS rows announcing it are written in one transaction (outbox
pattern), so the dispatcher can never send for an alert that was not stored, nor miss
one that was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta, timezone

import psycopg

from sensors.registry import Hotspot
from streams.crowd.state import AreaState

log = logging.getLogger(__name__)
KST = timezone(timedelta(hours=9))
SMS_MAX_BYTES = 90


def sms_kind(body: str) -> str:
    return "sms" if len(body.encode("euc_kr", errors="replace")) <= SMS_MAX_BYTES else "lms"


class PostgresAlertStore:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._open_keys: set[str] | None = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo)
        return self._conn

    def open_density_alert(self, state: AreaState, hotspots: Mapping[str, Hotspot]) -> int | None:
        """Open one alert per (area or zone, rule) and queue its SMS; None if already open."""
        dedup_key = f"{state.key}:density"
        try:
            conn = self._connection()
            if self._open_keys is None:
                rows = conn.execute(
                    "SELECT dedup_key FROM alerts WHERE status IN ('open', 'acknowledged')"
                ).fetchall()
                conn.commit()
                self._open_keys = {str(r[0]) for r in rows}
            if dedup_key in self._open_keys:
                return None
            alert_id = self._insert(conn, state, dedup_key, hotspots.get(state.area_code))
            self._open_keys.add(dedup_key)
            return alert_id
        except psycopg.OperationalError as exc:
            log.warning("alert for %s not stored yet, database unavailable: %s", dedup_key, exc)
            self._conn = None
            return None

    def _insert(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        state: AreaState,
        dedup_key: str,
        hotspot: Hotspot | None,
    ) -> int | None:
        with conn.transaction():
            row = conn.execute(
                """INSERT INTO alerts (dedup_key, area_code, zone_id, rule, stage, status,
                       density_per_m2, people, opened_at, details)
                   VALUES (%s, %s, %s, 'density', %s, 'open', %s, %s, %s, %s)
                   ON CONFLICT (dedup_key) WHERE status IN ('open', 'acknowledged') DO NOTHING
                   RETURNING id""",
                (
                    dedup_key,
                    state.area_code,
                    state.zone_id or "",
                    state.stage,
                    state.density_per_m2,
                    state.people,
                    state.as_of,
                    json.dumps({"seq": state.seq}),
                ),
            ).fetchone()
            if row is None:
                return None
            alert_id = int(str(row[0]))
            conn.execute(
                "INSERT INTO alert_audit (alert_id, actor, action, reason) VALUES (%s, 'system', "
                "'open', %s)",
                (alert_id, f"density {state.density_per_m2:.2f}/m² at {state.as_of.isoformat()}"),
            )
            district = hotspot.district if hotspot else ""
            name = hotspot.name_ko if hotspot else state.area_code
            body = (
                f"[CityPulse] {name} {state.stage_ko} {state.density_per_m2:.1f}명/㎡ "
                f"{state.as_of.astimezone(KST):%H:%M} #{alert_id}"
            )
            conn.execute(
                """INSERT INTO sms_outbox (alert_id, recipient_id, phone_e164, kind, body)
                   SELECT %s, id, phone_e164, %s, %s FROM recipients
                    WHERE active AND tier = 1
                      AND (districts = '{}' OR %s = ANY(districts))
                      AND (areas = '{}' OR %s = ANY(areas))""",
                (alert_id, sms_kind(body), body, district, state.area_code),
            )
        return alert_id
