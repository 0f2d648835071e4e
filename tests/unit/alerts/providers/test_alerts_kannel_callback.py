"""The Kannel delivery-report route: closed to strangers, never a 5xx for what they send."""

from __future__ import annotations

import string
from urllib.parse import quote, urlencode

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from alerts.delivery import UnknownMessage
from alerts.providers.base import DeliveryReport
from alerts.providers.kannel_callback import DLR_PATH, build_kannel_dlr_router, source_allowed
from alerts.providers.kannel_callback import parse_sources as sources
from alerts.providers.kannel_dlr import dlr_signature, drill_dlr_secret
from dashboard_api.core.ratelimit import RateLimiter

SECRET = "unit-test-dlr-secret"  # noqa: S105
HANDED_OVER = {"41", "42"}  # what the fake outbox handed to Kannel


class FakeOutbox:
    def __init__(self) -> None:
        self.reports: list[DeliveryReport] = []
        self.down = False

    async def __call__(self, report: DeliveryReport) -> None:
        if self.down:
            raise psycopg.OperationalError("connection refused")
        if report.message_id not in HANDED_OVER:
            raise UnknownMessage(report.message_id)
        self.reports.append(report)


def _client(
    outbox: FakeOutbox, *, allowed: tuple[str, ...] = (), limiter: RateLimiter | None = None
) -> TestClient:
    app = FastAPI()
    app.include_router(
        build_kannel_dlr_router(
            outbox, secret=SecretStr(SECRET), allowed_sources=allowed, limiter=limiter
        )
    )
    return TestClient(app, raise_server_exceptions=False)  # "testclient" is the client host


def _signed(message_id: str, **params: str) -> dict[str, str]:
    return {"message_id": message_id, "sig": dlr_signature(SECRET, message_id), **params}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (_signed("42", type="8", reply="ACK/"), 200),
        (_signed("42", type="1", reply="id:7 stat:DELIVRD err:000"), 200),
        ({"message_id": "42", "type": "8"}, 403),  # the forged "queued"
        ({"message_id": "42", "type": "16"}, 403),  # and its forged "rejected"
        ({**_signed("41", type="16"), "message_id": "42"}, 403),  # a signature for another id
        ({"message_id": "42", "type": "16", "sig": dlr_signature("guess", "42")}, 403),
        (_signed("43", type="8"), 404),  # signed, but never handed to Kannel
        (_signed("9" * 40, type="8"), 404),  # beyond bigint: still a 404
        (_signed("42", type="0"), 400),
        (_signed("42", type="x"), 400),
        ({"type": "1"}, 400),
        ({}, 400),
        (_signed("42", type="1", reply="x" * 5000), 414),
    ],
    ids=[
        "at_smsc",
        "delivered",
        "unsigned_8",
        "unsigned_16",
        "other_ids_sig",
        "guessed_secret",
        "unknown_id",
        "huge_id",
        "type_0",
        "type_text",
        "no_id",
        "empty",
        "too_long",
    ],
)
def test_route_answers(params: dict[str, str], code: int) -> None:
    outbox = FakeOutbox()
    answer = _client(outbox).get(DLR_PATH, params=params)
    assert answer.status_code == code, answer.text
    assert len(outbox.reports) == (1 if code == 200 else 0)


def test_a_database_that_is_down_is_a_503_so_kannel_calls_again() -> None:
    outbox = FakeOutbox()
    outbox.down = True
    answer = _client(outbox).get(DLR_PATH, params=_signed("42", type="1"))
    assert answer.status_code == 503
    assert outbox.reports == []


def test_reports_from_other_than_the_configured_gateways_are_refused() -> None:
    outbox = FakeOutbox()
    refused = _client(outbox, allowed=("10.0.0.0/8",)).get(DLR_PATH, params=_signed("42", type="1"))
    assert refused.status_code == 403 and outbox.reports == []


@pytest.mark.parametrize(
    ("host", "allowed", "ok"),
    [
        ("10.1.2.3", ("10.0.0.0/8",), True),
        ("10.1.2.3", ("10.1.2.4",), False),
        ("::1", ("::1", "127.0.0.1"), True),
        ("testclient", ("127.0.0.1",), False),
        (None, ("127.0.0.1",), False),
        ("anything", (), True),
    ],
)
def test_source_allowed(host: str | None, allowed: tuple[str, ...], ok: bool) -> None:
    assert source_allowed(host, sources(allowed)) is ok


def test_malformed_gateway_addresses_fail_at_start() -> None:
    with pytest.raises(ValueError):
        sources(["10.0.0.300"])


def test_a_client_over_its_rate_gets_429() -> None:
    outbox = FakeOutbox()
    client = _client(outbox, limiter=RateLimiter(rate_per_s=0.001, burst=3))
    codes = [client.get(DLR_PATH, params={"message_id": "42", "type": "8"}).status_code]
    codes += [client.get(DLR_PATH, params=_signed("42", type="8")).status_code for _ in range(3)]
    assert codes == [403, 200, 200, 429]


# Property: whatever a stranger puts in the query, the answer is a 2xx only for a report
# signed for a message handed to Kannel, every other answer is a 4xx, and nothing but a
# correctly signed report ever reaches the outbox.
_text = st.text(st.characters(codec="utf-8"), max_size=40)
_ids = st.one_of(
    st.sampled_from(["41", "42", "43", "0", "-1", "9" * 30, ""]),
    st.text(string.ascii_letters + string.digits + "._:-% ", max_size=70),
)
_types = st.one_of(st.integers(-40, 80).map(str), _text)
_OUTBOX = FakeOutbox()
_CLIENT = _client(_OUTBOX)  # one app for every generated example: they only read it


@st.composite
def _queries(draw: st.DrawFn) -> tuple[dict[str, str], bool]:
    message_id = draw(_ids)
    sig_kind = draw(st.sampled_from(["right", "none", "other_id", "random"]))
    params = {"message_id": message_id, "type": draw(_types)}
    for key in draw(st.lists(st.sampled_from(["reply", "foreign_id", "smsc", "ts", "junk"]))):
        params[key] = draw(_text)
    if sig_kind == "right":
        params["sig"] = dlr_signature(SECRET, message_id)
    elif sig_kind == "other_id":
        params["sig"] = dlr_signature(SECRET, message_id + "0")
    elif sig_kind == "random":
        params["sig"] = draw(_text)
    if draw(st.booleans()):
        del params["message_id"]
    return params, sig_kind == "right" and "message_id" in params


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(query=_queries())
def test_no_query_reaches_the_outbox_unsigned_or_answers_5xx(
    query: tuple[dict[str, str], bool],
) -> None:
    params, rightly_signed = query
    outbox = _OUTBOX
    outbox.reports.clear()
    answer = _CLIENT.get(f"{DLR_PATH}?{urlencode(params, quote_via=quote)}")
    assert 200 <= answer.status_code < 500, answer.text
    if answer.status_code == 200:
        assert rightly_signed and params["message_id"] in HANDED_OVER
        assert [r.message_id for r in outbox.reports] == [params["message_id"]]
    else:
        assert outbox.reports == []
    if not rightly_signed:
        assert answer.status_code in (400, 403, 414)


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_raw_query_bytes_never_answer_5xx(raw: bytes) -> None:
    outbox = _OUTBOX
    outbox.reports.clear()
    query = quote(raw, safe="=&%+")  # '%' kept: malformed escapes must be survived too
    answer = _CLIENT.get(f"{DLR_PATH}?{query}")
    assert 400 <= answer.status_code < 500
    assert outbox.reports == []


# -- a drill's reports (`drill=<id>`, signed with the drill's own secret) ------------------


class FakeDrillOutboxes:
    """Drill `ab12` handed 42 to Kannel; no other drill exists."""

    def __init__(self) -> None:
        self.reports: list[tuple[str, str]] = []

    async def __call__(self, drill_id: str, report: DeliveryReport) -> None:
        if drill_id != "ab12" or report.message_id not in HANDED_OVER:
            raise UnknownMessage(report.message_id)
        self.reports.append((drill_id, report.message_id))


def _drill_client(live: FakeOutbox, drills: FakeDrillOutboxes | None) -> TestClient:
    app = FastAPI()
    app.include_router(
        build_kannel_dlr_router(live, secret=SecretStr(SECRET), on_drill_report=drills)
    )
    return TestClient(app, raise_server_exceptions=False)


def _drill_signed(drill_id: str, message_id: str, **params: str) -> dict[str, str]:
    sig = dlr_signature(drill_dlr_secret(SECRET, drill_id), message_id)
    return {"message_id": message_id, "drill": drill_id, "sig": sig, **params}


@pytest.mark.parametrize(
    ("params", "code", "to_drill"),
    [
        (_drill_signed("ab12", "42", type="1"), 200, True),
        ({**_drill_signed("ab12", "42", type="1"), "drill": "cd34"}, 403, False),
        ({**_signed("42", type="1"), "drill": "ab12"}, 403, False),  # live sig, drill's row
        (
            {k: v for k, v in _drill_signed("ab12", "42", type="1").items() if k != "drill"},
            403,
            False,
        ),  # a drill's sig for the live row of the same id
        (_drill_signed("cd34", "42", type="1"), 404, False),  # signed, no such drill
        (_drill_signed("ab12", "43", type="1"), 404, False),
        ({**_drill_signed("ab12", "42", type="1"), "drill": "AB12"}, 400, False),
        ({**_drill_signed("ab12", "42", type="1"), "drill": "x; DROP SCHEMA public"}, 400, False),
        ({**_drill_signed("ab12", "42", type="1"), "drill": ""}, 400, False),
    ],
    ids=[
        "delivered",
        "other_drill",
        "live_sig",
        "drill_sig_live",
        "no_drill",
        "unknown_id",
        "upper",
        "injection",
        "empty",
    ],
)
def test_a_drills_report_reaches_only_that_drills_outbox(
    params: dict[str, str], code: int, to_drill: bool
) -> None:
    live, drills = FakeOutbox(), FakeDrillOutboxes()
    answer = _drill_client(live, drills).get(DLR_PATH, params=params)
    assert answer.status_code == code, answer.text
    assert live.reports == []
    assert drills.reports == ([("ab12", "42")] if to_drill else [])


def test_without_a_drill_sink_a_drills_report_is_a_404() -> None:
    live = FakeOutbox()
    answer = _drill_client(live, None).get(DLR_PATH, params=_drill_signed("ab12", "42", type="1"))
    assert answer.status_code == 404 and live.reports == []


@settings(max_examples=200, deadline=None)
@given(drill=st.text(max_size=40), message_id=st.sampled_from(["41", "42", "43"]))
def test_any_drill_value_is_a_4xx_or_its_own_outbox(drill: str, message_id: str) -> None:
    live, drills = FakeOutbox(), FakeDrillOutboxes()
    try:
        sig = dlr_signature(drill_dlr_secret(SECRET, drill), message_id)
    except ValueError:
        sig = dlr_signature(SECRET, message_id)  # not a drill id: the live signature
    params = {"message_id": message_id, "drill": drill, "sig": sig, "type": "1"}
    answer = _drill_client(live, drills).get(f"{DLR_PATH}?{urlencode(params, quote_via=quote)}")
    assert 200 <= answer.status_code < 500, answer.text
    assert live.reports == []
    if answer.status_code == 200:
        assert drills.reports == [("ab12", message_id)]
    else:
        assert drills.reports == []


def test_control_characters_of_a_receipt_text_are_kept_as_spaces() -> None:
    # An LMS's receipt quotes "[subject]\n"; PostgreSQL's text refuses NUL.
    outbox = FakeOutbox()
    reply = "id:7 stat:DELIVRD err:000 text:[DRILL]\n[DRILL] \x00x"
    answer = _client(outbox).get(DLR_PATH, params=_signed("42", type="1", reply=reply))
    assert answer.status_code == 200, answer.text
    assert outbox.reports[0].status == "delivered"
    assert outbox.reports[0].provider_status.endswith("text:[DRILL] [DRILL]  x")
