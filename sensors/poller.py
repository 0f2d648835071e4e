"""Live poller of Seoul's `citydata_ppltn` API: one request per area, politely paced.

GET {base_url}/{key}/json/citydata_ppltn/1/5/{AREA_NM}. Transport errors, HTTP 429/5xx
and the API's server-side result codes are retried with exponential backoff; a bad key
(INFO-100) is not. The upstream value changes every ~5 minutes, so a poll that returns
the PPLTN_TIME already published for the area yields nothing. The clock, sleep and HTTP
transport are passed in, so tests run on `httpx.MockTransport` without waiting.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from sensors.adapters.reject import Reject
from sensors.adapters.seoul_citydata import (
    ApiResult,
    SeoulApiError,
    api_result_of_json,
    iter_citydata_json,
)
from sensors.events import PopulationEstimate
from sensors.publisher import EventSink

log = logging.getLogger(__name__)

SOURCE = "seoul_citydata_ppltn"
# Result codes worth a retry: the API's own server and database faults.
RETRYABLE_RESULTS = frozenset({"ERROR-500", "ERROR-600", "ERROR-601"})


class SeoulPollerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_SEOUL_", extra="ignore")

    api_key: SecretStr = SecretStr("")  # CITYPULSE_SEOUL_API_KEY; `citypulse poll` needs it
    base_url: str = "http://openapi.seoul.go.kr:8088"
    min_interval_s: float = 1.0  # between two requests: a shared public API
    timeout_s: float = 10.0
    max_attempts: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    period_s: float = 300.0  # one round over all areas: upstream updates every 5 minutes


class PollFailedError(RuntimeError):
    """An area could not be fetched after every retry."""


def backoff_delays(base_s: float, max_s: float, attempts: int) -> list[float]:
    """Waits before retries 1..attempts-1: base, 2 base, 4 base, ... capped at max."""
    return [min(max_s, base_s * 2**i) for i in range(max(0, attempts - 1))]


class CitydataPoller:
    def __init__(
        self,
        settings: SeoulPollerSettings,
        client: httpx.Client,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._client = client
        self.clock = clock
        self.sleep = sleep
        self._now = now
        self._last_request: float | None = None
        self._published: dict[str, datetime] = {}  # area -> last PPLTN_TIME sent
        self.requests = 0
        self.unchanged = 0

    def url_for(self, area_name: str) -> str:
        key = self.settings.api_key.get_secret_value()
        base = self.settings.base_url.rstrip("/")
        return f"{base}/{quote(key, safe='')}/json/citydata_ppltn/1/5/{quote(area_name, safe='')}"

    def _pace(self) -> None:
        if self._last_request is not None:
            wait = self._last_request + self.settings.min_interval_s - self.clock()
            if wait > 0:
                self.sleep(wait)
        self._last_request = self.clock()

    def fetch(self, area_name: str) -> str:
        """The reply body for one area, retried with backoff; never logs the key."""
        s = self.settings
        delays = backoff_delays(s.backoff_base_s, s.backoff_max_s, s.max_attempts)
        problem = ""
        for attempt in range(s.max_attempts):
            self._pace()
            self.requests += 1
            retry_after: float | None = None
            try:
                reply = self._client.get(self.url_for(area_name), timeout=s.timeout_s)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}"
            else:
                if reply.status_code == 429 or reply.status_code >= 500:
                    problem = f"HTTP {reply.status_code}"
                    retry_after = _retry_after(reply)
                elif reply.status_code != 200:
                    raise PollFailedError(f"{area_name}: HTTP {reply.status_code}")
                else:
                    result = _result_of(reply.text)
                    if result is None or result.code not in RETRYABLE_RESULTS:
                        return reply.text
                    problem = f"{result.code} ({result.meaning})"
            if attempt < len(delays):
                wait = max(delays[attempt], retry_after or 0.0)
                log.warning("citydata_ppltn %s: %s; retry in %.1f s", area_name, problem, wait)
                self.sleep(wait)
        raise PollFailedError(f"{area_name}: {problem} after {s.max_attempts} attempts")

    def poll_area(self, area_name: str) -> list[PopulationEstimate | Reject]:
        """New events for one area (none when its PPLTN_TIME has not moved), or rejects."""
        body = self.fetch(area_name)
        result = _result_of(body)
        if result is not None and result.code == "INFO-100":
            raise SeoulApiError(result.code, result.message)  # a bad key fails every area
        out: list[PopulationEstimate | Reject] = []
        for item in iter_citydata_json(
            body, source_file=f"citydata_ppltn/{area_name}", source=SOURCE, ingest_time=self._now()
        ):
            if isinstance(item, Reject):
                out.append(item)
            elif self._published.get(item.area_code) == item.event_time:
                self.unchanged += 1
            else:
                self._published[item.area_code] = item.event_time
                out.append(item)
        return out

    def poll_round(self, area_names: Iterable[str]) -> Iterator[PopulationEstimate | Reject]:
        """One pass over the areas; an area that keeps failing becomes a Reject, not a crash."""
        for name in area_names:
            try:
                yield from self.poll_area(name)
            except PollFailedError as exc:
                yield Reject(f"citydata_ppltn/{name}", 0, "", str(exc))


def run_poller(
    poller: CitydataPoller,
    area_names: list[str],
    sink: EventSink,
    *,
    rounds: int | None = None,
    on_reject: Callable[[Reject], None] = lambda r: log.warning("rejected: %s", r),
) -> int:
    """Poll every `period_s` and publish new events; returns how many were published."""
    sent = 0
    done = 0
    while rounds is None or done < rounds:
        started = poller.clock()
        for item in poller.poll_round(area_names):
            if isinstance(item, Reject):
                on_reject(item)
            else:
                sink.publish(item)
                sent += 1
        sink.flush()
        done += 1
        if rounds is None or done < rounds:
            rest = started + poller.settings.period_s - poller.clock()
            if rest > 0:
                poller.sleep(rest)
    return sent


def _result_of(body: str) -> ApiResult | None:
    try:
        return api_result_of_json(json.loads(body))
    except ValueError:
        return None


def _retry_after(reply: httpx.Response) -> float | None:
    try:
        return float(reply.headers.get("Retry-After", ""))
    except ValueError:
        return None
