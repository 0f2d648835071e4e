"""Public history exports (CSV and Parquet) by area, zone and period, from the rollups.

Both formats come from one query and one set of records (dashboard_api/opendata/export.py);
only the encoder differs. Rate-limited per client on top of the anonymous /api/ limit (an
export reads up to a year of rows), whether or not the caller is signed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from psycopg import AsyncConnection

from citypulse.domain.korea_time import KST
from dashboard_api.api.deps import AreaRowsDep, ConnDep, SettingsDep
from dashboard_api.core.config import ApiSettings
from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.opendata.export import (
    PARQUET_MEDIA_TYPE,
    export_records,
    history_csv,
    history_parquet,
)
from dashboard_api.store.history import Resolution, crowd_history

router = APIRouter(prefix="/api/v1/opendata/history", tags=["open data"])
AreaCode = Annotated[str, Path(pattern=r"^POI[0-9]{3}$", description="e.g. POI009")]
From = Annotated[datetime, Query(alias="from")]
To = Annotated[datetime, Query(alias="to")]
ZoneId = Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{0,64}$")]
MAX_SPAN = {
    "1m": timedelta(days=2),
    "15m": timedelta(days=31),
    "1h": timedelta(days=366),
    "1d": timedelta(days=3660),
}
# Far enough inside datetime's range that a shift to UTC or KST never overflows.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
Encoder = Callable[[Iterable[Mapping[str, Any]]], str | bytes]


def _limit(request: Request, rate_per_s: float, burst: int) -> None:
    limiter: RateLimiter | None = getattr(request.app.state, "export_limiter", None)
    if limiter is None or (limiter.rate_per_s, limiter.burst) != (rate_per_s, burst):
        limiter = request.app.state.export_limiter = RateLimiter(rate_per_s, burst)
    client = request.client.host if request.client else "unknown"
    wait = limiter.allow(client, time.monotonic())
    if wait > 0:
        raise HTTPException(
            429, "export rate limit, retry later", headers={"Retry-After": str(max(1, round(wait)))}
        )


async def _export(
    request: Request,
    code: str,
    rows: list[dict[str, Any]],
    conn: AsyncConnection[Any],
    settings: ApiSettings,
    span: tuple[datetime, datetime],
    resolution: Resolution,
    zone: str,
    encode: Encoder,
    suffix: str,
    media_type: str,
) -> Response:
    """Checks, the one query, and the records in the chosen encoding as an attachment."""
    _limit(request, settings.export_rate_per_s, settings.export_burst)
    if not any(r["code"] == code for r in rows):
        raise HTTPException(404, f"no area {code}")
    start, end = (t if t.tzinfo else t.replace(tzinfo=KST) for t in span)
    if not EARLIEST <= start < end <= LATEST:
        raise HTTPException(422, f"`from` before `to`, both within {EARLIEST:%Y}-{LATEST:%Y}")
    if end - start > MAX_SPAN[resolution]:
        raise HTTPException(422, f"at {resolution} ask for at most {MAX_SPAN[resolution]}")
    data = await crowd_history(conn, code, zone, resolution, start, end)
    name = f"citypulse_{code}{'_' + zone if zone else ''}_{resolution}_"
    name += f"{start.astimezone(UTC):%Y%m%dT%H%M}Z.{suffix}"
    return Response(
        encode(export_records(code, zone, data)),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/{code}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the rollups as CSV"}},
)
async def history_export_csv(
    request: Request,
    code: AreaCode,
    rows: AreaRowsDep,
    conn: ConnDep,
    settings: SettingsDep,
    start: From,
    end: To,
    resolution: Resolution = "1h",
    zone: ZoneId = "",
) -> Response:
    """One area's (or zone's) rollups over [from, to) as CSV; a time without offset is
    KST, since a Seoul day is what a portal asks for."""
    return await _export(
        request, code, rows, conn, settings, (start, end), resolution, zone,
        history_csv, "csv", "text/csv; charset=utf-8",
    )  # fmt: skip


@router.get(
    "/{code}.parquet",
    response_class=Response,
    responses={200: {"content": {PARQUET_MEDIA_TYPE: {}}, "description": "the rollups"}},
)
async def history_export_parquet(
    request: Request,
    code: AreaCode,
    rows: AreaRowsDep,
    conn: ConnDep,
    settings: SettingsDep,
    start: From,
    end: To,
    resolution: Resolution = "1h",
    zone: ZoneId = "",
) -> Response:
    """The same rows as the CSV export, as one Parquet file (typed columns, UTC times)."""
    return await _export(
        request, code, rows, conn, settings, (start, end), resolution, zone,
        history_parquet, "parquet", PARQUET_MEDIA_TYPE,
    )  # fmt: skip
