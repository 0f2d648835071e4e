"""Pure parts of the dashboard API: filters, client messages, JWT, passwords, rate limit,
masking, feed health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard_api.core.ratelimit import RateLimiter
from dashboard_api.live.filters import FilterError, LiveFilter, parse_filter
from dashboard_api.live.protocol import Ping, ProtocolError, Subscribe, parse_client_message
from dashboard_api.present import contains_phone, feed_health, risk_key

AREAS = {"POI001", "POI009", "POI014"}
DISTRICTS = {"종로구", "중구"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, LiveFilter()),
        ({"district": "중구"}, LiveFilter(districts=frozenset({"중구"}))),
        ({"areas": "POI001, POI009"}, LiveFilter(areas=frozenset({"POI001", "POI009"}))),
        (
            {"areas": ["POI014"], "min_stage": "alert"},
            LiveFilter(areas=frozenset({"POI014"}), min_stage=3),
        ),
        ({"zones": "false"}, LiveFilter(zones=False)),
        ({"zones": True, "areas": ""}, LiveFilter()),
    ],
)
def test_filters_parse(raw: dict[str, Any], expected: LiveFilter) -> None:
    assert parse_filter(raw, AREAS, DISTRICTS) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ({"district": "Atlantis"}, "unknown district"),
        ({"areas": "POI999"}, "unknown area"),
        ({"areas": "POI001'; DROP TABLE areas;--"}, "unknown area"),
        ({"areas": 5}, "string or a list"),
        ({"areas": ["POI001", 7]}, "string or a list"),
        ({"areas": ",".join(["POI001"] * 201)}, "at most"),
        ({"min_stage": "panic"}, "min_stage"),
        ({"min_stage": None}, "min_stage"),
        ({"zones": "maybe"}, "zones"),
        ({"colour": "red"}, "unknown filter field"),
    ],
)
def test_bad_filters_say_why(raw: dict[str, Any], reason: str) -> None:
    with pytest.raises(FilterError, match=reason):
        parse_filter(raw, AREAS, DISTRICTS)


@pytest.mark.parametrize(
    ("text", "data", "code"),
    [
        (None, b"\x00", 1003),
        (None, b"x" * 5000, 1009),
        ("x" * 5000, None, 1009),
        ("한" * 1500, None, 1009),  # 4,500 bytes in UTF-8
        ("{nope", None, 1008),
        ("[1, 2]", None, 1008),
        ('{"type": 3}', None, 1008),
        ('{"type": "dance"}', None, 1008),
        ('{"type": "ping", "extra": 1}', None, 1008),
        ('{"type": "subscribe", "areas": ["POI999"]}', None, 1008),
    ],
)
def test_bad_client_messages_map_to_close_codes(
    text: str | None, data: bytes | None, code: int
) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_client_message(text, data, 4096, AREAS, DISTRICTS)
    assert err.value.code == code and len(err.value.reason) <= 120


def test_good_client_messages() -> None:
    assert parse_client_message('{"type":"ping"}', None, 4096, AREAS, DISTRICTS) == Ping()
    sub = parse_client_message(
        '{"type":"subscribe","min_stage":"caution"}', None, 4096, AREAS, DISTRICTS
    )
    assert sub == Subscribe(LiveFilter(min_stage=2))


def test_rate_limiter_bucket_refills_and_is_bounded() -> None:
    limiter = RateLimiter(rate_per_s=2, burst=3, max_clients=2)
    assert [limiter.allow("a", 0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.5]
    assert limiter.allow("a", 0.5) == 0.0  # one token back after half a second
    assert limiter.allow("b", 0.5) == 0.0
    limiter.allow("c", 0.5)
    assert set(limiter._buckets) == {"b", "c"}  # the oldest client was dropped


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("call +821012345678", True),
        ("010-1234-5678", True),
        ("POI009 at 3.4/m²", False),
        ("+82******5678", False),
        ("seq 1234567", False),
    ],
)
def test_contains_phone(text: str, found: bool) -> None:
    assert contains_phone(text) is found


def test_feed_health_never_calls_a_silent_feed_calm() -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    fresh = {
        "as_of": (now - timedelta(seconds=30)).isoformat(),
        "stale": False,
        "sources": [{"source": "telecom", "age_s": 30, "stale": False}],
    }
    old = {**fresh, "as_of": (now - timedelta(hours=1)).isoformat()}
    flagged = {**fresh, "stale": True}
    body = feed_health(
        ["POI001", "POI002", "POI003", "POI004"],
        {"POI001": fresh, "POI002": old, "POI003": flagged},
        now,
        900,
    )
    assert [a["status"] for a in body["areas"]] == ["ok", "stale", "stale", "missing"]
    assert body["summary"] == {"ok": 1, "stale": 2, "missing": 1}


@pytest.mark.parametrize(
    ("state", "key"),
    [
        (None, (-1, 0.0)),
        ({"stage": "alert", "density_per_m2": 3.2}, (3, 3.2)),
        ({"stage": "weird"}, (0, 0.0)),
    ],
)
def test_risk_key(state: dict[str, Any] | None, key: tuple[int, float]) -> None:
    assert risk_key(state) == key
