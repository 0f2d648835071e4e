"""KannelProvider's sendsms request and answers, and the DLR callback parser."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from alerts.providers.base import OutgoingSms, SubmitResult
from alerts.providers.kannel import KannelConfig, KannelProvider, classify_sendsms_answer
from alerts.providers.kannel_dlr import (
    DlrParseError,
    DlrSignatureError,
    dlr_callback_url,
    dlr_signature,
    parse_kannel_dlr,
    status_for_type,
)

NOW = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
SECRET = "unit-test-dlr-secret"  # noqa: S105


def signed(params: dict[str, str]) -> dict[str, str]:
    return {**params, "sig": dlr_signature(SECRET, params.get("message_id", ""))}


CONFIG = KannelConfig(
    sendsms_url="http://127.0.0.1:13013/cgi-bin/sendsms",
    username="citypulse",
    password=SecretStr("s3cret"),
    dlr_callback_url="http://127.0.0.1:8000/sms/dlr/kannel",
    dlr_secret=SecretStr(SECRET),
    sender="0215880000",
)


@pytest.mark.parametrize(
    ("dlr_type", "status"),
    [
        (1, "delivered"),
        (2, "failed"),
        (4, "queued"),
        (8, "at_smsc"),
        (16, "rejected"),
        (0, "unknown"),
        (9, "delivered"),
        (18, "rejected"),
        (12, "at_smsc"),
    ],
)
def test_status_for_type(dlr_type: int, status: str) -> None:
    assert status_for_type(dlr_type) == status


@pytest.mark.parametrize(
    ("params", "status", "provider_id", "error_code"),
    [
        (
            {"message_id": "m-1", "type": "8", "reply": "ACK/", "foreign_id": "1000001"},
            "at_smsc",
            "1000001",
            None,
        ),
        (
            {
                "message_id": "m-1",
                "type": "1",
                "reply": "id:1000001 sub:001 dlvrd:001 submit date:2512312330 done date:2512312330 "
                "stat:DELIVRD err:000 text:",
                "foreign_id": "1000001",
            },
            "delivered",
            "1000001",
            None,
        ),
        (
            {"message_id": "m-2", "type": "2", "reply": "id:7 stat:UNDELIV err:001"},
            "failed",
            None,
            "001",
        ),
        (
            {"message_id": "m-2", "type": "2", "reply": "id:7 stat:EXPIRED err:027"},
            "expired",
            None,
            "027",
        ),
        (
            {"message_id": "m-2", "type": "2", "reply": "id:7 stat:REJECTD err:011"},
            "rejected",
            None,
            "011",
        ),
        (
            {
                "message_id": "m-3",
                "type": "16",
                "reply": "NACK/0x0000000b/Invalid Destination Address",
                "foreign_id": "",
            },
            "rejected",
            None,
            None,
        ),
        ({"message_id": "550e8400-e29b-41d4-a716-446655440000", "type": "4"}, "queued", None, None),
    ],
    ids=["smsc_ack", "delivered", "undeliv", "expired", "rejectd", "smsc_nack", "uuid_queued"],
)
def test_parse_kannel_dlr(
    params: dict[str, str], status: str, provider_id: str | None, error_code: str | None
) -> None:
    report = parse_kannel_dlr(signed(params), NOW, SECRET)
    assert (report.message_id, report.status, report.provider_message_id, report.error_code) == (
        params["message_id"],
        status,
        provider_id,
        error_code,
    )
    assert report.at == NOW
    assert report.provider_status.startswith(f"type={params['type']}")


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"type": "1"}, "message_id"),
        ({"message_id": "a b", "type": "1"}, "message_id"),
        ({"message_id": "m-1"}, "type must be"),
        ({"message_id": "m-1", "type": "%d"}, "type must be"),
        ({"message_id": "m-1", "type": "0"}, "type must be"),
        ({"message_id": "m-1", "type": "32"}, "type must be"),
        ({"message_id": "m-1", "type": "-1"}, "type must be"),
        ({"message_id": "m-1", "type": "١"}, "type must be"),  # an Arabic-Indic one
        ({"message_id": "m-1", "type": "9" * 5000}, "type must be"),
    ],
)
def test_parse_kannel_dlr_refuses(params: dict[str, str], match: str) -> None:
    with pytest.raises(DlrParseError, match=match):
        parse_kannel_dlr(signed(params), NOW, SECRET)


@pytest.mark.parametrize(
    "params",
    [
        {"message_id": "42", "type": "8"},  # unsigned: the forged "queued"
        {"message_id": "42", "type": "16", "sig": ""},
        {"message_id": "42", "type": "16", "sig": dlr_signature(SECRET, "43")},  # another id's
        {"message_id": "42", "type": "1", "sig": dlr_signature("other-secret", "42")},
        {"message_id": "42", "type": "1", "sig": dlr_signature(SECRET, "42").upper()},
        {"message_id": "42", "type": "1", "sig": dlr_signature(SECRET, "42")[:-1]},
        {"message_id": "42", "type": "1", "sig": "é" * 32},
    ],
    ids=["unsigned", "empty", "other_id", "other_secret", "upper", "short", "non_ascii"],
)
def test_parse_kannel_dlr_refuses_unsigned_and_forged(params: dict[str, str]) -> None:
    with pytest.raises(DlrSignatureError):
        parse_kannel_dlr(params, NOW, SECRET)


def test_signature_is_checked_before_the_rest_is_read() -> None:
    # A stranger learns nothing about the parser from a forged report's answer.
    with pytest.raises(DlrSignatureError):
        parse_kannel_dlr({"message_id": "42", "type": "nonsense"}, NOW, SECRET)


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h/dlr", "http://h/dlr?message_id=42&type=%d&reply=%A&foreign_id=%F&smsc=%i&ts=%T"),
        (
            "http://h/dlr?k=v",
            "http://h/dlr?k=v&message_id=42&type=%d&reply=%A&foreign_id=%F&smsc=%i&ts=%T",
        ),
    ],
)
def test_dlr_callback_url(base: str, expected: str) -> None:
    sig = dlr_signature(SECRET, "42")
    assert dlr_callback_url(base, "42", SECRET) == expected.replace(
        "message_id=42&", f"message_id=42&sig={sig}&"
    )


def test_dlr_callback_url_refuses_ids_kannel_would_rewrite() -> None:
    with pytest.raises(ValueError, match="message_id"):
        dlr_callback_url("http://h/dlr", "50%off", SECRET)


def test_the_signed_url_parses_back_to_its_own_report() -> None:
    url = dlr_callback_url("http://h/dlr", "42", SECRET).replace("%d", "1")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert parse_kannel_dlr(query, NOW, SECRET).status == "delivered"


def test_signatures_differ_per_message_and_secret() -> None:
    sigs = {dlr_signature(s, m) for s in ("a", "b") for m in ("1", "2", "10", "100")}
    assert len(sigs) == 8
    assert all(len(sig) == 32 and all(c in "0123456789abcdef" for c in sig) for sig in sigs)


@pytest.mark.parametrize(
    ("code", "body", "expected"),
    [
        (202, "0: Accepted for delivery", SubmitResult.ok()),
        (202, "3: Queued for later delivery", SubmitResult.ok()),
        (
            503,
            "4: Temporal failure, try again later.",
            SubmitResult.retry("HTTP 503: 4: Temporal failure, try again later."),
        ),
        (503, "Sending failed.", SubmitResult.retry("HTTP 503: Sending failed.")),
        (
            403,
            "Authorization failed for sendsms",
            SubmitResult.final("HTTP 403: Authorization failed for sendsms"),
        ),
        (
            400,
            "Missing receiver number, rejected",
            SubmitResult.final("HTTP 400: Missing receiver number, rejected"),
        ),
        (429, "slow down", SubmitResult.retry("HTTP 429: slow down")),
    ],
    ids=["accepted", "queued", "temporal", "sending_failed", "auth", "missing_to", "429"],
)
def test_classify_sendsms_answer(code: int, body: str, expected: SubmitResult) -> None:
    assert classify_sendsms_answer(code, body) == expected


@pytest.mark.parametrize(
    ("message", "coding", "text"),
    [
        (
            OutgoingSms("m-1", "+821012345678", "[주의] 홍대 관광특구 2.6명/m²"),
            "2",
            "[주의] 홍대 관광특구 2.6명/m²",
        ),
        (OutgoingSms("m-2", "+821012345678", "Crowd alert"), "0", "Crowd alert"),
        (
            OutgoingSms("m-3", "+821012345678", "본문", kind="lms", subject="심각"),
            "2",
            "[심각]\n본문",
        ),
    ],
)
async def test_send_builds_the_sendsms_request(
    message: OutgoingSms, coding: str, text: str
) -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, text="0: Accepted for delivery")

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        result = await KannelProvider(CONFIG, client=client).send(message)
    assert result == SubmitResult.ok()
    (request,) = seen
    assert request.url.path == "/cgi-bin/sendsms"
    query = {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}
    assert query == {
        "username": "citypulse",
        "password": "s3cret",
        "from": "0215880000",
        "to": "+821012345678",
        "text": text,
        "charset": "UTF-8",
        "coding": coding,
        "dlr-mask": "31",
        "dlr-url": f"http://127.0.0.1:8000/sms/dlr/kannel?message_id={message.message_id}"
        f"&sig={dlr_signature(SECRET, message.message_id)}"
        "&type=%d&reply=%A&foreign_id=%F&smsc=%i&ts=%T",
    }


@pytest.mark.parametrize(
    ("error", "retryable", "uncertain"),
    [
        (httpx.ConnectError("refused"), True, False),  # never reached Kannel: send again
        (httpx.ReadTimeout("slow"), True, True),  # sent, no answer: Kannel may have it
        (httpx.RemoteProtocolError("disconnected"), True, True),  # killed mid-request
    ],
)
async def test_transport_errors_are_retryable(
    error: Exception, retryable: bool, uncertain: bool
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as client:
        result = await KannelProvider(CONFIG, client=client).send(
            OutgoingSms("m-1", "+821012345678", "x")
        )
    assert (result.accepted, result.retryable, result.uncertain) == (False, retryable, uncertain)
    assert result.error is not None and "s3cret" not in result.error


@pytest.mark.parametrize(
    ("answer", "reachable"),
    [
        (httpx.Response(403, text="Authorization failed for sendsms"), True),  # it answers
        (httpx.Response(503, text="4: Temporal failure"), True),
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("no route"), False),
    ],
)
async def test_probe_sends_nothing_and_reads_any_answer_as_reachable(
    answer: httpx.Response | Exception, reachable: bool
) -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        assert await KannelProvider(CONFIG, client=client).reachable() is reachable
    (request,) = seen
    assert request.url.query == b""  # no number, no text, no credentials


TWO = KannelConfig(
    sendsms_url="http://kannel-a:13013/cgi-bin/sendsms",
    username="citypulse",
    password=SecretStr("s3cret"),
    dlr_callback_url="http://127.0.0.1:8000/sms/dlr/kannel",
    dlr_secret=SecretStr(SECRET),
    fallback_sendsms_url="http://kannel-b:13013/cgi-bin/sendsms",
)


@pytest.mark.parametrize(
    ("site_a", "sent_to_b"),
    [
        (httpx.ConnectError("refused"), True),  # site a gone: b takes it at once
        (httpx.ConnectTimeout("no route"), True),  # never connected: nothing sent to a
        (httpx.Response(503, text="4: Temporal failure"), True),  # a refused it for now
        (httpx.ReadTimeout("slow"), False),  # a may have it: not sent twice
        (httpx.RemoteProtocolError("disconnected"), False),
        (httpx.Response(202, text="0: Accepted for delivery"), False),
        (httpx.Response(403, text="Authorization failed for sendsms"), False),  # final
    ],
)
async def test_a_second_gateway_takes_what_the_first_surely_did_not(
    site_a: httpx.Response | Exception, sent_to_b: bool
) -> None:
    hosts: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        if request.url.host == "kannel-b":
            return httpx.Response(202, text="0: Accepted for delivery")
        if isinstance(site_a, Exception):
            raise site_a
        return site_a

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        provider = KannelProvider(TWO, client=client)
        first = await provider.send(OutgoingSms("m-1", "+821012345678", "x"))
        await provider.send(OutgoingSms("m-2", "+821012345678", "y"))
    if sent_to_b:
        assert first.accepted
        assert hosts == ["kannel-a", "kannel-b", "kannel-b"]  # and it stays with b
    else:
        assert hosts[:1] == ["kannel-a"] and "kannel-b" not in hosts[:1]
        assert hosts.count("kannel-b") == 0


@pytest.mark.parametrize("b_answers", [True, False])
async def test_with_two_gateways_either_answering_is_reachable(b_answers: bool) -> None:
    def reply(request: httpx.Request) -> httpx.Response:
        if request.url.host == "kannel-a" or not b_answers:
            raise httpx.ConnectError("refused")
        return httpx.Response(403, text="Authorization failed for sendsms")

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply)) as client:
        assert await KannelProvider(TWO, client=client).reachable() is b_answers
