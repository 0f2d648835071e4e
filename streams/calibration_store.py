"""The calibration's I/O edge: labelled history read from crowd_readings, fits stored in
area_calibrations, and `citypulse calibrate`, which fits and stores one now.

The worker (streams/agents.py) uses the same `refit` on its schedule and `latest` to load.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
from psycopg.types.json import Jsonb

from citypulse.config import StackSettings
from citypulse.domain.comfort import COMFORT_LEVELS, ComfortLabel
from streams.calibration import (
    Calibration,
    CalibrationPolicy,
    fit_calibration,
    model_from_json,
    model_to_json,
)
from streams.crowd.comfort import LabelledCount

_REFIT_LOCK = 0x63616C69  # one fit at a time across workers and the command


class CalibrationStore:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def labelled_history(self, lookback: timedelta) -> list[LabelledCount]:
        """Telecom readings Seoul labelled within `lookback` of the newest: the newest of
        each area and hour (a re-sent reading is not counted twice)."""
        with psycopg.connect(self.conninfo) as conn:
            newest = conn.execute(
                "SELECT max(event_time) FROM crowd_readings WHERE source = 'telecom'"
                " AND congestion_level IS NOT NULL"
            ).fetchone()
            if newest is None or newest[0] is None:
                return []
            since = cast(datetime, newest[0]) - lookback
            # The newest reading of each area and hour: what the bench fits on, and a
            # bound (121 areas x 24 x 60 days) however often the live poller stores one.
            rows = conn.execute(
                "SELECT DISTINCT ON (area_code, date_trunc('hour', event_time)) area_code,"
                " event_time, people, congestion_level FROM crowd_readings"
                " WHERE source = 'telecom' AND zone_id = '' AND congestion_level IS NOT NULL"
                " AND event_time >= %s"
                " ORDER BY area_code, date_trunc('hour', event_time), event_time DESC,"
                " ingest_time DESC",
                (since,),
            ).fetchall()
        return [
            LabelledCount(str(a), cast(datetime, t), float(cast(float, p)), cast(ComfortLabel, c))
            for a, t, p, c in rows
            if c in COMFORT_LEVELS
        ]

    def save(self, cal: Calibration) -> int:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "INSERT INTO area_calibrations (fitted_at, span_from, span_to, rows, areas,"
                " holdout, model) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (cal.fitted_at, cal.span_from, cal.span_to, cal.rows, len(cal.calibrated),
                 Jsonb(dict(cal.holdout)), Jsonb(model_to_json(cal))),
            ).fetchone()  # fmt: skip
        if row is None:  # INSERT ... RETURNING always returns its row
            raise RuntimeError("area_calibrations insert returned no id")
        return int(cast(int, row[0]))

    def latest_id(self) -> int | None:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute("SELECT max(id) FROM area_calibrations").fetchone()
        return None if row is None or row[0] is None else int(cast(int, row[0]))

    def latest(self) -> Calibration | None:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT id, fitted_at, span_from, span_to, rows, holdout, model"
                " FROM area_calibrations ORDER BY id DESC LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        fit_id, fitted_at, span_from, span_to, rows, holdout, model = row
        return model_from_json(
            cast(dict[str, Any], model),
            fit_id=int(cast(int, fit_id)),
            fitted_at=cast(datetime, fitted_at),
            span=(cast(datetime | None, span_from), cast(datetime | None, span_to)),
            rows=int(cast(int, rows)),
            holdout=cast(dict[str, Any], holdout),
        )

    def refit(
        self,
        now: datetime,
        policy: CalibrationPolicy | None = None,
        unless_fitted_after: datetime | None = None,
    ) -> Calibration | None:
        """Fit on the stored history and store the fit; returns it with its id. With
        `unless_fitted_after`, None when a fit that recent is stored (another worker's)."""
        pol = policy or CalibrationPolicy()
        with psycopg.connect(self.conninfo, autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(%s)", (_REFIT_LOCK,))
            try:
                if unless_fitted_after is not None:
                    row = lock.execute(
                        "SELECT 1 FROM area_calibrations WHERE fitted_at > %s LIMIT 1",
                        (unless_fitted_after,),
                    ).fetchone()
                    if row is not None:
                        return None
                history = self.labelled_history(timedelta(days=pol.lookback_days))
                cal = fit_calibration(history, now, pol)
                fit_id = self.save(cal)
            finally:
                lock.execute("SELECT pg_advisory_unlock(%s)", (_REFIT_LOCK,))
        return Calibration(**{**cal.__dict__, "fit_id": fit_id})


def summary(cal: Calibration) -> dict[str, Any]:
    return {
        "id": cal.fit_id,
        "fitted_at": cal.fitted_at.isoformat(),
        "span_from": cal.span_from.isoformat() if cal.span_from else None,
        "span_to": cal.span_to.isoformat() if cal.span_to else None,
        "rows": cal.rows,
        "areas_calibrated": len(cal.calibrated),
        "holdout": dict(cal.holdout),
    }


def run(args: argparse.Namespace, settings: StackSettings) -> int:
    policy = CalibrationPolicy(min_days=args.min_days, lookback_days=args.lookback_days)
    try:
        cal = CalibrationStore(settings.db_conninfo).refit(datetime.now(UTC), policy)
    except psycopg.OperationalError as exc:
        sys.stderr.write(f"citypulse: database unavailable: {exc}\n")
        return 2
    if cal is None:  # only with unless_fitted_after
        return 1
    sys.stdout.write(json.dumps(summary(cal), ensure_ascii=False) + "\n")
    return 0


def add_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cal = sub.add_parser(
        "calibrate",
        help="fit the per-area comfort calibration and normals on the stored history; "
        "the running workers load it within a minute",
    )
    defaults = CalibrationPolicy()
    cal.add_argument("--min-days", type=int, default=defaults.min_days)
    cal.add_argument("--lookback-days", type=float, default=defaults.lookback_days)
    cal.set_defaults(func=lambda args, config: run(args, config.stack))
