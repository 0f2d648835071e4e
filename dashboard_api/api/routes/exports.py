"""Public history exports (CSV) by area, zone and period, from the rollups.

Rate-limited per client on top of the anonymous /api/ limit (an export reads up to a
year of rows), whether or not the caller is signed in.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response

from citypulse.domain.korea_time import KST
from dashboard_api.api.deps import AreaRowsDep, ConnDep, SettingsDep
from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.opendata.export import history_csv
from dashboard_api.store.history import Resolution, crowd_history

router = APIRouter(prefix="/api/v1/opendata/history", tags=["open data"])
AreaCode = Annotated[str, Path(pattern=r"^POI[0-9]{3}$", description="e.g. POI009")]
MAX_SPAN = {
    "1m": timedelta(days=2),
    "15m": timedelta(days=31),
    "1h": timedelta(days=366),
    "1d": timedelta(days=3660),
}


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
    start: Annotated[datetime, Query(alias="from")],
    end: Annotated[datetime, Query(alias="to")],
    resolution: Resolution = "1h",
    zone: Annotated[str, Query(pattern=r"^[A-Za-z0-9_.:-]{0,64}$")] = "",
) -> Response:
    """One area's (or zone's) rollups over [from, to) as CSV; a time without offset is
    KST, since a Seoul day is what a portal asks for."""
    _limit(request, settings.export_rate_per_s, settings.export_burst)
    if not any(r["code"] == code for r in rows):
        raise HTTPException(404, f"no area {code}")
    start, end = (t if t.tzinfo else t.replace(tzinfo=KST) for t in (start, end))
    if end <= start:
        raise HTTPException(422, "`to` must be after `from`")
    if end - start > MAX_SPAN[resolution]:
        raise HTTPException(422, f"at {resolution} ask for at most {MAX_SPAN[resolution]}")
    data = await crowd_history(conn, code, zone, resolution, start, end)
    name = f"citypulse_{code}{'_' + zone if zone else ''}_{resolution}_"
    name += f"{start.astimezone(UTC):%Y%m%dT%H%M}Z.csv"
    return Response(
        history_csv(code, zone, data),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
