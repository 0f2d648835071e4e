"""Seoul real-time city data (`citydata`, `citydata_ppltn`): LIVE_PPLTN_STTS to events.

Both services and both formats carry the same flat LIVE_PPLTN_STTS record; this module
maps one such record (a str -> value mapping) to a `PopulationEstimate` plus a
`LivePopulationDetail` for the fields the event has no place for, and walks JSON
documents. The XML side (including responses truncated by a collector) is in
`seoul_citydata_xml`. A record with any bad field is rejected whole, never half-published.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast, get_args

from pydantic import ValidationError

from citypulse.domain.comfort import ComfortLabel
from sensors.adapters.area_names import AreaNameIndex
from sensors.adapters.reject import Reject, event_id, parse_kst
from sensors.events import MAX_PEOPLE, ForecastPoint, PopulationEstimate

SOURCE = "seoul_citydata"

# The Open API's result codes (openapi.seoul.go.kr common codes).
RESULT_MEANINGS: dict[str, str] = {
    "INFO-000": "ok",
    "INFO-100": "invalid API key",
    "INFO-200": "no data for this request",
    "ERROR-300": "a required value is missing",
    "ERROR-301": "file type missing",
    "ERROR-310": "no such service",
    "ERROR-331": "bad start index",
    "ERROR-332": "bad end index",
    "ERROR-333": "index is not a number",
    "ERROR-334": "start index after end index",
    "ERROR-335": "sample data is limited to 5 rows",
    "ERROR-336": "at most 1000 rows per request",
    "ERROR-500": "server error",
    "ERROR-600": "database connection error",
    "ERROR-601": "SQL error",
}

_LABELS: frozenset[str] = frozenset(get_args(ComfortLabel))
# The 2022-23 API had a fifth, top label; it is the same 'top of scale' as today's 붐빔.
# The raw label is kept in LivePopulationDetail.congestion_label_raw.
_LEGACY_LABELS: dict[str, str] = {"매우 붐빔": "붐빔"}
_AGE_BANDS = (0, 10, 20, 30, 40, 50, 60, 70)


class SeoulApiError(RuntimeError):
    """A RESULT.CODE other than INFO-000, with its meaning."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.meaning = RESULT_MEANINGS.get(code, "unknown result code")
        self.message = message
        super().__init__(f"{code} ({self.meaning}): {message}")


@dataclass(frozen=True)
class ApiResult:
    code: str
    message: str

    @property
    def ok(self) -> bool:
        return self.code == "INFO-000"

    @property
    def meaning(self) -> str:
        return RESULT_MEANINGS.get(self.code, "unknown result code")

    def as_reject(self, source_file: str) -> Reject:
        return Reject(source_file, 0, "RESULT.CODE", f"{self.code} {self.meaning}: {self.message}")

    def raise_for_error(self) -> None:
        if not self.ok:
            raise SeoulApiError(self.code, self.message)


@dataclass(frozen=True)
class LivePopulationDetail:
    """LIVE_PPLTN_STTS fields the event schema does not carry (shares in percent)."""

    area_code: str
    area_name: str
    event_time: datetime
    congestion_label_raw: str | None
    congestion_message: str | None
    male_pct: float | None
    female_pct: float | None
    age_pct: tuple[tuple[int, float], ...]  # (decade, share): (0, ..) is under 10
    resident_pct: float | None
    non_resident_pct: float | None
    forecast_published: bool | None  # FCST_YN


@dataclass(frozen=True)
class ParsedLivePopulation:
    estimate: PopulationEstimate
    detail: LivePopulationDetail


class _FieldErrors:
    def __init__(self, source_file: str, record: int) -> None:
        self.source_file = source_file
        self.record = record
        self.rejects: list[Reject] = []

    def add(self, field: str, reason: str) -> None:
        self.rejects.append(Reject(self.source_file, self.record, field, reason))


def _text(fields: Mapping[str, Any], key: str) -> str | None:
    value = fields.get(key)
    if value is None or isinstance(value, list | dict):
        return None
    text = str(value).strip()
    return text or None


def _count(fields: Mapping[str, Any], key: str, errors: _FieldErrors) -> int:
    text = _text(fields, key)
    if text is None:
        errors.add(key, "missing")
        return 0
    try:
        value = float(text)
    except ValueError:
        errors.add(key, f"not a number: {text!r}")
        return 0
    if not math.isfinite(value) or value < 0 or value != int(value):
        errors.add(key, f"not a head count: {text!r}")
        return 0
    if value > MAX_PEOPLE:
        errors.add(key, f"more people than Seoul has: {text[:40]!r}")
        return 0
    return int(value)


def _pct(fields: Mapping[str, Any], key: str, errors: _FieldErrors) -> float | None:
    text = _text(fields, key)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        errors.add(key, f"not a number: {text!r}")
        return None
    if not 0 <= value <= 100:
        errors.add(key, f"share outside 0..100: {text!r}")
        return None
    return value


def _label(raw: str | None, key: str, errors: _FieldErrors) -> ComfortLabel | None:
    if raw is None:
        return None
    label = _LEGACY_LABELS.get(raw, raw)
    if label not in _LABELS:
        errors.add(key, f"unknown comfort label {raw!r}")
        return None
    return cast(ComfortLabel, label)


def _time(fields: Mapping[str, Any], key: str, errors: _FieldErrors) -> datetime | None:
    text = _text(fields, key)
    if text is None:
        errors.add(key, "missing")
        return None
    try:
        return parse_kst(text)
    except ValueError as exc:
        errors.add(key, str(exc))
        return None


def list_field(fields: Mapping[str, Any], key: str) -> list[object]:
    """The rows of a list field whatever the JSON shape: the API's own list, one row, or
    what XML-to-JSON converters (xmltodict) make of <KEY><KEY>row</KEY>..</KEY>, i.e.
    {KEY: {KEY: [rows]}} or {KEY: {KEY: row}} when there is a single row."""
    raw = fields.get(key)
    for _ in range(8):  # a wrapper per XML level; deeper is not a reply
        if isinstance(raw, Mapping) and len(raw) == 1 and key in raw:
            raw = raw[key]
        else:
            break
    if raw is None or raw == "":
        return []
    rows = raw if isinstance(raw, list) else [raw]
    return [
        row[key] if isinstance(row, Mapping) and len(row) == 1 and key in row else row
        for row in rows
    ]


def _forecast(fields: Mapping[str, Any], errors: _FieldErrors) -> tuple[ForecastPoint, ...]:
    items = list_field(fields, "FCST_PPLTN")
    points: list[ForecastPoint] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            errors.add(f"FCST_PPLTN[{i}]", "not a record")
            continue
        before = len(errors.rejects)
        when = _time(item, "FCST_TIME", errors)
        lo = _count(item, "FCST_PPLTN_MIN", errors)
        hi = _count(item, "FCST_PPLTN_MAX", errors)
        label = _label(_text(item, "FCST_CONGEST_LVL"), "FCST_CONGEST_LVL", errors)
        if len(errors.rejects) > before or when is None:
            continue
        if hi < lo:
            errors.add(f"FCST_PPLTN[{i}]", f"max {hi} < min {lo}")
            continue
        points.append(
            ForecastPoint(time=when, people_min=lo, people_max=hi, congestion_level=label)
        )
    return tuple(points)


@lru_cache(maxsize=1)
def _shipped_names() -> AreaNameIndex:
    return AreaNameIndex()


def live_population_from_fields(
    fields: Mapping[str, Any],
    *,
    source_file: str,
    record: int,
    source: str = SOURCE,
    area_code: str | None = None,
    area_name: str | None = None,
    names: AreaNameIndex | None = None,
    ingest_time: datetime | None = None,
) -> ParsedLivePopulation | list[Reject]:
    """One LIVE_PPLTN_STTS record; its rejects (one per bad field) when it is not usable.

    The area is AREA_CD of the record, else `area_code` (the enclosing CITYDATA's), else
    the name (AREA_NM, else `area_name`) looked up in `names` (default: shipped registry).
    """
    errors = _FieldErrors(source_file, record)
    name = _text(fields, "AREA_NM") or area_name or ""
    code = _text(fields, "AREA_CD") or area_code
    if code is None and name:
        code = (names or _shipped_names()).code_for(name)
    if code is None:
        errors.add("AREA_CD", f"no AREA_CD and area name {name!r} is not in the registry")
    lo = _count(fields, "AREA_PPLTN_MIN", errors)
    hi = _count(fields, "AREA_PPLTN_MAX", errors)
    when = _time(fields, "PPLTN_TIME", errors)
    raw_label = _text(fields, "AREA_CONGEST_LVL")
    label = _label(raw_label, "AREA_CONGEST_LVL", errors)
    replace = _text(fields, "REPLACE_YN")
    if hi < lo:
        errors.add("AREA_PPLTN_MAX", f"max {hi} < min {lo}")
    if replace not in (None, "Y", "N"):
        errors.add("REPLACE_YN", f"not Y/N: {replace!r}")
    fcst_yn = _text(fields, "FCST_YN")
    forecast = _forecast(fields, errors)
    pct_keys = ("MALE_PPLTN_RATE", "FEMALE_PPLTN_RATE", "RESNT_PPLTN_RATE", "NON_RESNT_PPLTN_RATE")
    age_keys = tuple(f"PPLTN_RATE_{a}" for a in _AGE_BANDS)
    detail_pcts = {key: _pct(fields, key, errors) for key in (*pct_keys, *age_keys)}
    if errors.rejects or code is None or when is None:
        return errors.rejects
    try:
        estimate = PopulationEstimate(
            event_id=event_id(source, code, when),
            source=source,
            event_time=when,
            ingest_time=ingest_time or when,
            area_code=code,
            people_min=lo,
            people_max=hi,
            congestion_level=label,
            replaced=replace == "Y",
            forecast=forecast,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        errors.add(".".join(str(p) for p in first["loc"]) or "record", first["msg"])
        return errors.rejects
    ages = tuple((a, v) for a in _AGE_BANDS if (v := detail_pcts[f"PPLTN_RATE_{a}"]) is not None)
    detail = LivePopulationDetail(
        area_code=code,
        area_name=name,
        event_time=when,
        congestion_label_raw=raw_label,
        congestion_message=_text(fields, "AREA_CONGEST_MSG"),
        male_pct=detail_pcts["MALE_PPLTN_RATE"],
        female_pct=detail_pcts["FEMALE_PPLTN_RATE"],
        age_pct=ages,
        resident_pct=detail_pcts["RESNT_PPLTN_RATE"],
        non_resident_pct=detail_pcts["NON_RESNT_PPLTN_RATE"],
        forecast_published=None if fcst_yn is None else fcst_yn == "Y",
    )
    return ParsedLivePopulation(estimate, detail)


def api_result_of_json(doc: object) -> ApiResult | None:
    """RESULT of a JSON reply: nested {'RESULT': {'RESULT.CODE'|'CODE': ..}} or flat keys."""
    if not isinstance(doc, Mapping):
        return None
    for holder in (doc.get("RESULT"), doc):
        if isinstance(holder, Mapping):
            code = holder.get("RESULT.CODE", holder.get("CODE"))
            if isinstance(code, str):
                msg = holder.get("RESULT.MESSAGE", holder.get("MESSAGE", ""))
                return ApiResult(code.strip(), str(msg).strip())
    return None


def _str_or(node: Mapping[str, Any], keys: tuple[str, ...], default: str | None) -> str | None:
    for key in keys:
        value = node.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return default


_MAX_DEPTH = 32  # a reply (or a cache of replies, or xmltodict's) nests under 10 levels


def _live_records(
    node: object, area_code: str | None, area_name: str | None, depth: int = 0
) -> Iterator[tuple[Mapping[str, Any], str | None, str | None]]:
    """Every mapping holding AREA_PPLTN_MIN, with the area code and name of its parents.

    The parents are CITYDATA in a `citydata` reply, or a cache's {"name": .., "citydata": ..}.
    Deeper than _MAX_DEPTH is not looked into (hostile nesting must not exhaust the stack).
    """
    if depth > _MAX_DEPTH:
        return
    if isinstance(node, list):
        for item in node:
            yield from _live_records(item, area_code, area_name, depth + 1)
    elif isinstance(node, Mapping):
        if "AREA_PPLTN_MIN" in node:
            yield node, area_code, area_name
            return
        code = _str_or(node, ("AREA_CD",), area_code)
        name = _str_or(node, ("AREA_NM", "name"), area_name)
        for value in node.values():
            yield from _live_records(value, code, name, depth + 1)


def parse_citydata_json(
    text: str | bytes,
    *,
    source_file: str = "<json>",
    source: str = SOURCE,
    names: AreaNameIndex | None = None,
    ingest_time: datetime | None = None,
) -> Iterator[ParsedLivePopulation | Reject]:
    """A `citydata` / `citydata_ppltn` JSON reply (or a cache of them) to parsed records."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Reject(source_file, exc.lineno, "", f"not JSON: {exc.msg}")
        return
    except (ValueError, RecursionError) as exc:  # not UTF-8; nested past the parser's stack
        yield Reject(source_file, 0, "", f"not JSON: {type(exc).__name__}")
        return
    result = api_result_of_json(doc)
    if result is not None and not result.ok:
        yield result.as_reject(source_file)
        return
    found = False
    for index, (fields, code, name) in enumerate(_live_records(doc, None, None), start=1):
        found = True
        parsed = live_population_from_fields(
            fields,
            source_file=source_file,
            record=index,
            source=source,
            area_code=code,
            area_name=name,
            names=names,
            ingest_time=ingest_time,
        )
        if isinstance(parsed, list):
            yield from parsed
        else:
            yield parsed
    if not found:
        yield Reject(source_file, 0, "LIVE_PPLTN_STTS", "no live population record in reply")


def iter_citydata_json(
    text: str | bytes,
    *,
    source_file: str = "<json>",
    source: str = SOURCE,
    names: AreaNameIndex | None = None,
    ingest_time: datetime | None = None,
) -> Iterator[PopulationEstimate | Reject]:
    for item in parse_citydata_json(
        text, source_file=source_file, source=source, names=names, ingest_time=ingest_time
    ):
        yield item if isinstance(item, Reject) else item.estimate
