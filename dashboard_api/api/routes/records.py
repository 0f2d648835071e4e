"""The record after an incident, for an alert or for areas over a range: JSON, CSV, PDF.

Operators and admins only, as the alert detail: a record names recipients, operators and
what they wrote, which the public dashboard does not show. A district's operator reads
the whole city's records (they see the whole city; they act only on their districts).
Phone numbers are shown in full to admins only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response

from alerts.exceptions import AlertNotFound
from citypulse.domain.korea_time import KST
from dashboard_api.api.deps import AreaRowsDep, ConnDep, OperatorDep
from dashboard_api.record.export import file_name, record_csv
from dashboard_api.record.load import MAX_SPAN, alert_record, range_record
from dashboard_api.record.pdf import PdfFontMissing, record_pdf
from dashboard_api.record.timeline import Record
from dashboard_api.schemas.auth import UserPublic
from dashboard_api.schemas.records import RecordOut

router = APIRouter(prefix="/api/v1", tags=["records"])
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Areas = Annotated[
    str,
    Query(
        pattern=r"^POI[0-9]{3}(,POI[0-9]{3}){0,19}$",
        description="area codes, comma-separated (at most 20), e.g. POI004,POI009",
    ),
]
From = Annotated[datetime, Query(alias="from", description="a time without offset is KST")]
To = Annotated[datetime, Query(alias="to", description="a time without offset is KST")]
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "the record as CSV"}
}
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "the record as PDF"}
}


def _names(rows: AreaRowsDep) -> dict[str, str]:
    return {str(r["code"]): str(r["name_ko"]) for r in rows}


def _generated(caller: UserPublic) -> tuple[datetime, str]:
    who = f"{caller.display_name} ({caller.username})" if caller.display_name else caller.username
    return datetime.now(UTC), who


async def alert_record_of(
    conn: ConnDep,
    alert_id: int,
    caller: UserPublic,
    rows: AreaRowsDep,
    now: datetime | None = None,
) -> Record:
    """One alert's record (routes/drills.py: a drill's, with `now` its simulated now)."""
    generated = _generated(caller)
    try:
        return await alert_record(
            conn, alert_id, area_names=_names(rows), show_phones=caller.role == "admin",
            generated=(now or generated[0], generated[1]),
        )  # fmt: skip
    except AlertNotFound:
        raise HTTPException(
            404, f"no alert {alert_id}", {"X-Error-Code": "alert_not_found"}
        ) from None


async def _range(
    conn: ConnDep,
    areas: str,
    span: tuple[datetime, datetime],
    caller: UserPublic,
    rows: AreaRowsDep,
) -> Record:
    codes = list(dict.fromkeys(areas.split(",")))
    known = _names(rows)
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise HTTPException(404, f"no area {', '.join(unknown)}")
    start, end = (t if t.tzinfo else t.replace(tzinfo=KST) for t in span)
    if not EARLIEST <= start < end <= LATEST:
        raise HTTPException(422, f"`from` before `to`, both within {EARLIEST:%Y}-{LATEST:%Y}")
    if end - start > MAX_SPAN:
        raise HTTPException(422, f"a record covers at most {MAX_SPAN.days} days")
    return await range_record(
        conn, codes, (start, end), area_names=known, show_phones=caller.role == "admin",
        generated=_generated(caller),
    )  # fmt: skip


def _file(body: str | bytes, record: Record, suffix: str, media_type: str) -> Response:
    disposition = f'attachment; filename="{file_name(record, suffix)}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


async def _pdf(record: Record) -> Response:
    try:  # fpdf2 is CPU-bound: off the event loop
        body = await asyncio.to_thread(record_pdf, record)
    except PdfFontMissing as exc:
        raise HTTPException(503, f"PDF unavailable: {exc}") from None
    return _file(body, record, "pdf", "application/pdf")


async def record_file(record: Record, suffix: str) -> Response:
    """The record as a download: `csv` or `pdf`."""
    if suffix == "pdf":
        return await _pdf(record)
    return _file(record_csv(record), record, "csv", "text/csv; charset=utf-8")


@router.get("/alerts/{alert_id}/record", response_model=RecordOut)
async def get_alert_record(
    alert_id: AlertId, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> dict[str, Any]:
    """One alert's record: crowd figures as stored, decisions, texts, acknowledgements."""
    return (await alert_record_of(conn, alert_id, caller, rows)).public()


@router.get("/alerts/{alert_id}/record.csv", response_class=Response, responses=CSV)
async def get_alert_record_csv(
    alert_id: AlertId, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> Response:
    """One alert's record as CSV (one row per entry)."""
    record = await alert_record_of(conn, alert_id, caller, rows)
    return _file(record_csv(record), record, "csv", "text/csv; charset=utf-8")


@router.get("/alerts/{alert_id}/record.pdf", response_class=Response, responses=PDF)
async def get_alert_record_pdf(
    alert_id: AlertId, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> Response:
    """One alert's record as a printable PDF (A4)."""
    return await _pdf(await alert_record_of(conn, alert_id, caller, rows))


@router.get("/records", response_model=RecordOut)
async def get_range_record(
    areas: Areas, start: From, end: To, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> dict[str, Any]:
    """The record of areas over [from, to) (at most 7 days): every alert open then."""
    return (await _range(conn, areas, (start, end), caller, rows)).public()


@router.get("/records.csv", response_class=Response, responses=CSV)
async def get_range_record_csv(
    areas: Areas, start: From, end: To, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> Response:
    """The range record as CSV."""
    record = await _range(conn, areas, (start, end), caller, rows)
    return _file(record_csv(record), record, "csv", "text/csv; charset=utf-8")


@router.get("/records.pdf", response_class=Response, responses=PDF)
async def get_range_record_pdf(
    areas: Areas, start: From, end: To, conn: ConnDep, caller: OperatorDep, rows: AreaRowsDep
) -> Response:
    """The range record as a printable PDF (A4)."""
    return await _pdf(await _range(conn, areas, (start, end), caller, rows))
