"""Data adapters: pure functions from file text/bytes to city events plus `Reject`s.

Each adapter yields events and rejects in input order and goes on after a bad record;
publishing is the caller's business (`sensors.publisher`).

| input | function |
|---|---|
| `citydata` / `citydata_ppltn` XML (complete or truncated) | `iter_citydata_xml` |
| the same with the extra LIVE_PPLTN_STTS fields | `parse_citydata_xml` |
| `citydata` / `citydata_ppltn` JSON, or a cache | `iter_citydata_json`, `parse_citydata_json` |
| collector CSV with an XML `raw_response` column | `iter_citydata_raw_csv` |
| hourly 121-area log CSV | `iter_hourly_log` |
| 5-minute 113-area log JSON (+ places.csv) | `iter_five_minute_log` |
| S-DoT hourly CSV (CP949 or UTF-8) | `iter_sdot_csv` (+ `read_sensor_positions`, `assign_areas`) |
| FIWARE CrowdFlowObserved (NGSI v2 / LD) | `iter_crowd_flow` |
"""

from sensors.adapters.area_names import AreaNameIndex, normalise_area_name
from sensors.adapters.fiware import iter_crowd_flow, zone_count_from_entity
from sensors.adapters.reject import Reject, split_rejects
from sensors.adapters.sdot import (
    assign_areas,
    decode_csv_bytes,
    iter_sdot_csv,
    read_sensor_positions,
)
from sensors.adapters.seoul_citydata import (
    ApiResult,
    LivePopulationDetail,
    ParsedLivePopulation,
    SeoulApiError,
    iter_citydata_json,
    parse_citydata_json,
)
from sensors.adapters.seoul_citydata_xml import (
    iter_citydata_raw_csv,
    iter_citydata_xml,
    parse_citydata_xml,
)
from sensors.adapters.seoul_logs import iter_five_minute_log, iter_hourly_log

__all__ = [
    "ApiResult",
    "AreaNameIndex",
    "LivePopulationDetail",
    "ParsedLivePopulation",
    "Reject",
    "SeoulApiError",
    "assign_areas",
    "decode_csv_bytes",
    "iter_citydata_json",
    "iter_citydata_raw_csv",
    "iter_citydata_xml",
    "iter_crowd_flow",
    "iter_five_minute_log",
    "iter_hourly_log",
    "iter_sdot_csv",
    "normalise_area_name",
    "parse_citydata_json",
    "parse_citydata_xml",
    "read_sensor_positions",
    "split_rejects",
    "zone_count_from_entity",
]
