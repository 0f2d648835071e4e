"""`citydata` / `citydata_ppltn` XML replies, complete or cut short, to population events.

The XML is read as a stream of start/end events, so a reply a collector cut at N
characters still yields every LIVE_PPLTN_STTS record that closed before the cut; the
record the cut falls into, and everything after it, is reported as one Reject each.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast
from xml.etree.ElementTree import Element, ParseError, XMLPullParser

from sensors.adapters.area_names import AreaNameIndex
from sensors.adapters.reject import Reject
from sensors.adapters.seoul_citydata import (
    SOURCE,
    ApiResult,
    ParsedLivePopulation,
    live_population_from_fields,
)
from sensors.events import PopulationEstimate

_RECORD_MARK = "AREA_PPLTN_MIN"


def _fields_of(elem: Element) -> dict[str, Any]:
    """A record element as the JSON shape: leaves to text, blocks to lists of leaf dicts."""
    fields: dict[str, Any] = {}
    for child in elem:
        if len(child) == 0:
            fields[child.tag] = (child.text or "").strip()
        else:
            # <FCST_PPLTN><FCST_PPLTN>..</FCST_PPLTN>..</FCST_PPLTN>: one dict per inner row
            fields[child.tag] = [
                {leaf.tag: (leaf.text or "").strip() for leaf in row} for row in child
            ]
    return fields


def _is_record(elem: Element) -> bool:
    return any(child.tag == _RECORD_MARK for child in elem)


def parse_citydata_xml(
    text: str,
    *,
    source_file: str = "<xml>",
    source: str = SOURCE,
    names: AreaNameIndex | None = None,
    ingest_time: datetime | None = None,
) -> Iterator[ParsedLivePopulation | Reject]:
    parser: XMLPullParser[Element] = XMLPullParser(events=("start", "end"))
    stack: list[str] = []
    open_records: set[int] = set()  # stack depths of open elements seen to be records
    area_code: str | None = None
    result_code = result_msg = None
    records = 0
    error: str | None = None
    try:
        parser.feed(text)
        parser.close()
    except ParseError as exc:
        error = str(exc)
    for event in parser.read_events():
        kind, elem = cast(tuple[str, Element], event)  # start/end events carry the element
        if kind == "start":
            if elem.tag == _RECORD_MARK:
                open_records.add(len(stack) - 1)
            stack.append(elem.tag)
            continue
        stack.pop()
        open_records.discard(len(stack))
        parent = stack[-1] if stack else ""
        if elem.tag in ("RESULT.CODE", "CODE") and parent == "RESULT":
            result_code = (elem.text or "").strip()
        elif elem.tag in ("RESULT.MESSAGE", "MESSAGE") and parent == "RESULT":
            result_msg = (elem.text or "").strip()
        elif elem.tag == "RESULT" and result_code is not None:
            result = ApiResult(result_code, result_msg or "")
            if not result.ok:
                yield result.as_reject(source_file)
                return
        elif elem.tag == "AREA_CD" and parent == "CITYDATA":
            area_code = (elem.text or "").strip() or None
        elif _is_record(elem):
            records += 1
            parsed = live_population_from_fields(
                _fields_of(elem),
                source_file=source_file,
                record=records,
                source=source,
                area_code=area_code,
                names=names,
                ingest_time=ingest_time,
            )
            if isinstance(parsed, list):
                yield from parsed
            else:
                yield parsed
            elem.clear()  # a full citydata reply is ~230 KB: keep only what is still open
    if error is not None:
        inside = bool(open_records) or stack.count("LIVE_PPLTN_STTS") >= 2
        yield _truncation_reject(source_file, records, stack, inside, len(text), error)
    elif records == 0:
        yield Reject(source_file, 0, "LIVE_PPLTN_STTS", "no live population record in reply")


def _truncation_reject(
    source_file: str, records: int, stack: list[str], inside_record: bool, size: int, error: str
) -> Reject:
    path = "/".join(stack)
    if inside_record:
        return Reject(
            source_file,
            records + 1,
            path,
            f"reply ends inside this record after {size} chars: not published",
        )
    what = "truncated" if "no element found" in error or "unclosed" in error else "malformed"
    return Reject(
        source_file,
        0,
        path,
        f"reply {what} after {size} chars ({error}); blocks from here on not parsed",
    )


def iter_citydata_xml(
    text: str,
    *,
    source_file: str = "<xml>",
    source: str = SOURCE,
    names: AreaNameIndex | None = None,
    ingest_time: datetime | None = None,
) -> Iterator[PopulationEstimate | Reject]:
    for item in parse_citydata_xml(
        text, source_file=source_file, source=source, names=names, ingest_time=ingest_time
    ):
        yield item if isinstance(item, Reject) else item.estimate


def iter_citydata_raw_csv(
    text: str,
    *,
    source_file: str = "<csv>",
    source: str = SOURCE,
    names: AreaNameIndex | None = None,
) -> Iterator[PopulationEstimate | Reject]:
    """A collector's CSV whose `raw_response` column holds (the start of) each XML reply."""
    csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, 2**31 - 1)))
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        raw = row.get("raw_response")
        if not raw:
            yield Reject(source_file, line, "raw_response", "empty")
            continue
        for item in parse_citydata_xml(raw, source_file=source_file, source=source, names=names):
            if isinstance(item, Reject):
                yield dataclasses.replace(item, record=line, field=f"raw_response:{item.field}")
            else:
                yield item.estimate
