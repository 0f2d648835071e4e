"""Recorded Seoul population logs (names only, no AREA_CD) to `PopulationEstimate`s.

- the hourly `citydata_ppltn` log of 121 areas (`seoul_population_log.csv`): label,
  head-count range and PPLTN_TIME per row; event time is PPLTN_TIME (KST);
- the 5-minute log of 113 areas (`ppldata.json` + `places.csv`): head-count range per
  poll, no label and no PPLTN_TIME; event time is the poll time (KST).

Areas are matched to the registry by name (exact, normalised, former name). `places.csv` codes
are NOT trusted: they follow the 2023 numbering, which differs from today's for some areas
(2023 POI099 서울대공원 is POI100 today; POI099 is now 서울광장).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from datetime import datetime

from sensors.adapters.area_names import AreaNameIndex
from sensors.adapters.reject import Reject, event_id, parse_kst
from sensors.adapters.seoul_citydata import live_population_from_fields
from sensors.events import PopulationEstimate

HOURLY_SOURCE = "seoul_hourly_log"
FIVE_MIN_SOURCE = "seoul_5min_log"

# seoul_population_log.csv column -> LIVE_PPLTN_STTS field
_HOURLY_COLUMNS = {
    "API지역명": "AREA_NM",
    "혼잡도": "AREA_CONGEST_LVL",
    "혼잡도메시지": "AREA_CONGEST_MSG",
    "최소인구": "AREA_PPLTN_MIN",
    "최대인구": "AREA_PPLTN_MAX",
    "업데이트시간": "PPLTN_TIME",
}
_COLUMN_OF = {v: k for k, v in _HOURLY_COLUMNS.items()}


def iter_hourly_log(
    text: str,
    *,
    source_file: str = "seoul_population_log.csv",
    names: AreaNameIndex | None = None,
    source: str = HOURLY_SOURCE,
) -> Iterator[PopulationEstimate | Reject]:
    """Rows of the hourly 121-area log; line numbers in rejects count the header as 1."""
    index = names or AreaNameIndex()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in _HOURLY_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield Reject(source_file, 1, ",".join(missing), "header lacks these columns")
        return
    for row in reader:
        line = reader.line_num
        name = (row.get("API지역명") or "").strip() or (row.get("지역명") or "").strip()
        values = [(row.get(c) or "").strip() for c in ("최소인구", "최대인구", "업데이트시간")]
        if not any(values):
            yield Reject(source_file, line, "", f"collector recorded an empty reply for {name!r}")
            continue
        if index.code_for(name) is None:
            yield Reject(source_file, line, "API지역명", index.unknown_reason(name))
            continue
        fields = {api: row.get(col) for col, api in _HOURLY_COLUMNS.items()}
        fields["AREA_NM"] = name
        parsed = live_population_from_fields(
            fields, source_file=source_file, record=line, source=source, names=index
        )
        if isinstance(parsed, list):
            for r in parsed:
                yield Reject(r.source_file, r.record, _COLUMN_OF.get(r.field, r.field), r.reason)
        else:
            yield parsed.estimate


def read_places_csv(text: str) -> dict[str, str]:
    """places.csv of the 5-minute log: AREA_NM -> AREA_CD as that list numbered them."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return {
        (r.get("AREA_NM") or "").strip(): (r.get("AREA_CD") or "").strip()
        for r in reader
        if (r.get("AREA_NM") or "").strip()
    }


def _count(value: object) -> int | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    ok = math.isfinite(number) and number >= 0 and number == int(number)  # 'inf' is a float
    return int(number) if ok else None


def iter_five_minute_log(
    ppldata_json: str,
    places_csv: str | None = None,
    *,
    source_file: str = "ppldata.json",
    names: AreaNameIndex | None = None,
    source: str = FIVE_MIN_SOURCE,
    ingest_time: datetime | None = None,
) -> Iterator[PopulationEstimate | Reject]:
    """{AREA_NM: {"YYYY-MM-DD HH:MM:SS": {"PPL_MIN", "PPL_MAX"}}}; record = running point index."""
    index = names or AreaNameIndex()
    places = read_places_csv(places_csv) if places_csv else {}
    try:
        doc = json.loads(ppldata_json)
    except json.JSONDecodeError as exc:
        yield Reject(source_file, 0, "", f"not JSON: {exc.msg} at line {exc.lineno}")
        return
    if not isinstance(doc, Mapping):
        yield Reject(source_file, 0, "", "top level is not an object of areas")
        return
    record = 0
    for name, series in doc.items():
        code = index.code_for(name)
        if code is None or not isinstance(series, Mapping):
            listed = f" (places.csv: {places[name]})" if name in places else ""
            points = len(series) if isinstance(series, Mapping) else 1
            former = index.former(name) if code is None else None
            why = f"; {former.describe()}" if former is not None else ""
            # one reject for the whole series, at its first point
            yield Reject(
                source_file,
                record + 1,
                name,
                f"area not in the registry{listed}; {points} points{why}",
            )
            record += points
            continue
        for stamp, point in series.items():
            record += 1
            where = f"{name}/{stamp}"
            try:
                when = parse_kst(stamp)
            except ValueError as exc:
                yield Reject(source_file, record, where, str(exc))
                continue
            lo = _count(point.get("PPL_MIN")) if isinstance(point, Mapping) else None
            hi = _count(point.get("PPL_MAX")) if isinstance(point, Mapping) else None
            if lo is None or hi is None or hi < lo:
                yield Reject(source_file, record, where, f"bad head-count range {point!r}")
                continue
            yield PopulationEstimate(
                event_id=event_id(source, code, when),
                source=source,
                event_time=when,
                ingest_time=ingest_time or when,
                area_code=code,
                people_min=lo,
                people_max=hi,
            )
