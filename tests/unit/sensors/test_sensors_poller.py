from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from sensors.adapters import Reject, SeoulApiError
from sensors.events import PopulationEstimate
from sensors.poller import CitydataPoller, SeoulPollerSettings, backoff_delays, run_poller
from sensors.publisher import ListSink

KEY = "sEcReT-key"


def _reply(area_code: str, ppltn_time: str, lo: int = 7000) -> dict[str, object]:
    return {
        "SeoulRtd.citydata_ppltn": [
            {
                "AREA_CD": area_code,
                "AREA_PPLTN_MIN": str(lo),
                "AREA_PPLTN_MAX": str(lo + 500),
                "AREA_CONGEST_LVL": "여유",
                "PPLTN_TIME": ppltn_time,
                "REPLACE_YN": "N",
            }
        ],
        "RESULT": {"RESULT.CODE": "INFO-000", "RESULT.MESSAGE": "정상 처리되었습니다."},
    }


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def _poller(
    handler: Callable[[httpx.Request], httpx.Response], fake: FakeTime, **kw: object
) -> CitydataPoller:
    settings = SeoulPollerSettings(api_key=KEY, base_url="http://api.test:8088", **kw)  # type: ignore[arg-type]
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return CitydataPoller(settings, client, clock=fake.clock, sleep=fake.sleep)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYPULSE_SEOUL_API_KEY", "abc")
    monkeypatch.setenv("CITYPULSE_SEOUL_BASE_URL", "http://proxy:9000")
    s = SeoulPollerSettings()  # type: ignore[call-arg]
    assert s.api_key.get_secret_value() == "abc" and s.base_url == "http://proxy:9000"
    assert "abc" not in repr(s)


def test_url_and_dedup_of_unchanged_ppltn_time(sensor_fixtures: Path) -> None:
    seen: list[str] = []
    times = iter(["2026-03-20 23:25", "2026-03-20 23:25", "2026-03-20 23:30"])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(unquote(request.url.path))
        return httpx.Response(200, json=_reply("POI009", next(times)))

    fake = FakeTime()
    poller = _poller(handler, fake)
    got = [poller.poll_area("광화문·덕수궁") for _ in range(3)]
    assert seen[0] == f"/{KEY}/json/citydata_ppltn/1/5/광화문·덕수궁"
    assert [len(g) for g in got] == [1, 0, 1]  # the second poll saw the same PPLTN_TIME
    assert poller.unchanged == 1
    second = got[2][0]
    assert isinstance(second, PopulationEstimate)
    assert second.event_id == "seoul_citydata_ppltn:POI009:2026-03-20T23:30:00+09:00"
    assert fake.slept == [1.0, 1.0]  # polite: min_interval_s between requests


@pytest.mark.parametrize(
    ("failures", "attempts", "ok", "sleeps"),
    [
        ([httpx.ConnectError("down")], 5, True, [1.0]),
        ([503, 503, 429], 5, True, [1.0, 2.0, 4.0]),
        (["ERROR-500", "ERROR-600"], 5, True, [1.0, 2.0]),
        ([503] * 5, 5, False, [1.0, 2.0, 4.0, 8.0]),
    ],
)
def test_retries_with_exponential_backoff(
    failures: list[object], attempts: int, ok: bool, sleeps: list[float]
) -> None:
    queue = list(failures)

    def handler(request: httpx.Request) -> httpx.Response:
        if queue:
            failure = queue.pop(0)
            if isinstance(failure, Exception):
                raise failure
            if isinstance(failure, int):
                return httpx.Response(failure)
            return httpx.Response(
                200, json={"RESULT": {"RESULT.CODE": failure, "RESULT.MESSAGE": "x"}}
            )
        return httpx.Response(200, json=_reply("POI009", "2026-03-20 23:25"))

    fake = FakeTime()
    poller = _poller(handler, fake, min_interval_s=0.0, max_attempts=attempts)
    items = list(poller.poll_round(["광화문·덕수궁"]))
    assert fake.slept == sleeps
    if ok:
        assert len(items) == 1 and isinstance(items[0], PopulationEstimate)
    else:
        assert len(items) == 1 and isinstance(items[0], Reject)
        assert "HTTP 503 after 5 attempts" in items[0].reason
        assert KEY not in items[0].reason


def test_retry_after_header_is_honoured() -> None:
    calls = iter([httpx.Response(429, headers={"Retry-After": "7"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(calls, httpx.Response(200, json=_reply("POI009", "2026-03-20 23:25")))

    fake = FakeTime()
    _poller(handler, fake, min_interval_s=0.0).poll_area("x")
    assert fake.slept == [7.0]


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ({"RESULT": {"CODE": "INFO-100", "MESSAGE": "인증키가 유효하지 않습니다."}}, "raise"),
        (
            {
                "RESULT": {
                    "RESULT.CODE": "INFO-200",
                    "RESULT.MESSAGE": "해당하는 데이터가 없습니다.",
                }
            },
            "INFO-200",
        ),
    ],
)
def test_api_results(body: dict[str, object], outcome: str) -> None:
    fake = FakeTime()
    poller = _poller(lambda r: httpx.Response(200, json=body), fake)
    if outcome == "raise":
        with pytest.raises(SeoulApiError, match="INFO-100 \\(invalid API key\\)"):
            poller.poll_area("광화문·덕수궁")
    else:
        (item,) = poller.poll_area("광화문·덕수궁")
        assert isinstance(item, Reject) and item.reason.startswith("INFO-200 no data")
    assert fake.slept == []  # neither is retried


def test_run_poller_publishes_new_values_only() -> None:
    replies = {
        "광화문·덕수궁": ("POI009", ["23:25", "23:25"]),
        "강남역": ("POI014", ["23:25", "23:30"]),
    }
    counters = {k: 0 for k in replies}

    def handler(request: httpx.Request) -> httpx.Response:
        name = unquote(request.url.path).rsplit("/", 1)[1]
        code, times = replies[name]
        t = times[counters[name]]
        counters[name] += 1
        return httpx.Response(200, content=json.dumps(_reply(code, f"2026-03-20 {t}")).encode())

    fake = FakeTime()
    poller = _poller(handler, fake, period_s=300.0)
    sink = ListSink()
    sent = run_poller(poller, list(replies), sink, rounds=2)
    assert sent == 3
    assert [e.area_code for e in sink.events] == ["POI009", "POI014", "POI014"]
    assert fake.slept == [1.0, 299.0, 1.0]  # pace, wait out the period, pace


@pytest.mark.parametrize(
    ("base", "cap", "n", "delays"),
    [(1.0, 60.0, 5, [1.0, 2.0, 4.0, 8.0]), (2.0, 5.0, 4, [2.0, 4.0, 5.0]), (1.0, 1.0, 1, [])],
)
def test_backoff_delays(base: float, cap: float, n: int, delays: list[float]) -> None:
    assert backoff_delays(base, cap, n) == delays
