"""SmppProvider against SMPP peers on 127.0.0.1: the carrier stand-in (a real SMSC-side
implementation of bind/submit/receipts) and, for failure cases, a scripted peer here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from alerts.providers.base import DeliveryReport, OutgoingSms
from alerts.providers.smpp import SmppConfig, SmppProvider
from alerts.providers.smpp_pdu import (
    BindResp,
    CommandId,
    CommandStatus,
    MessageIdResp,
    TlvTag,
    encode,
    response_to,
)
from alerts.providers.smpp_session import read_pdu
from infra.kannel.carrier_standin import CarrierStandin

NOW = datetime(2025, 12, 24, 19, 0, tzinfo=UTC)
STANDIN_PASSWORD = "pw"  # noqa: S105 - test peer credential
HANGUL_LONG = "[심각] 명동 관광특구 밀집도 5.6명/m²로 위험 단계입니다. " * 4


class Reports:
    def __init__(self) -> None:
        self.items: list[DeliveryReport] = []
        self.arrived = asyncio.Event()

    async def __call__(self, report: DeliveryReport) -> None:
        self.items.append(report)
        self.arrived.set()

    async def wait_for(self, n: int, timeout_s: float = 5.0) -> list[DeliveryReport]:
        async with asyncio.timeout(timeout_s):
            while len(self.items) < n:
                self.arrived.clear()
                await self.arrived.wait()
        return self.items


def _config(port: int, **overrides: object) -> SmppConfig:
    base: dict[str, object] = {
        "host": "127.0.0.1",
        "port": port,
        "system_id": "citypulse",
        "password": SecretStr("pw"),
        "source_addr": "0215880000",
        "response_timeout_s": 2.0,
    }
    return SmppConfig(**{**base, **overrides})  # type: ignore[arg-type]


@pytest.fixture
async def standin() -> AsyncIterator[tuple[CarrierStandin, int]]:
    peer = CarrierStandin(password=STANDIN_PASSWORD, receipt_delay_s=0.02, clock=lambda: NOW)
    port = await peer.start()
    yield peer, port
    await peer.stop()


@pytest.mark.parametrize(
    ("to", "accepted", "retryable", "status", "error"),
    [
        ("+821012345678", True, False, "delivered", None),
        ("+821012340000", True, False, "failed", "001"),
        ("+821012349999", False, False, None, None),
    ],
    ids=["delivered", "undeliverable", "refused"],
)
async def test_submit_and_receipt(
    standin: tuple[CarrierStandin, int],
    to: str,
    accepted: bool,
    retryable: bool,
    status: str | None,
    error: str | None,
) -> None:
    peer, port = standin
    reports = Reports()
    provider = SmppProvider(_config(port), reports, clock=lambda: NOW)
    result = await provider.send(OutgoingSms("m-1", to, "[경계] 홍대 관광특구 3.2명/m²"))
    assert (result.accepted, result.retryable) == (accepted, retryable)
    if accepted:
        (report,) = await reports.wait_for(1)
        assert (report.message_id, report.status, report.error_code) == ("m-1", status, error)
        assert report.provider_message_id == result.provider_message_id == "1000001"
        (got,) = peer.received
        assert (got.destination, got.source, got.text, got.data_coding) == (
            to[1:],
            "0215880000",
            "[경계] 홍대 관광특구 3.2명/m²",
            8,
        )
    else:
        assert result.error == "submit_sm refused: ESME_RINVDSTADR"
    await provider.aclose()


async def test_long_sms_goes_as_sar_segments(standin: tuple[CarrierStandin, int]) -> None:
    peer, port = standin
    reports = Reports()
    provider = SmppProvider(_config(port), reports)
    result = await provider.send(OutgoingSms("m-long", "+821012345678", HANGUL_LONG))
    assert result.accepted
    received = peer.received
    assert len(received) == 3  # 148 UCS-2 characters: 67 + 67 + 14
    sar = [
        tuple(
            int.from_bytes(t.value, "big")
            for t in r.tlvs
            if t.tag
            in (TlvTag.SAR_MSG_REF_NUM, TlvTag.SAR_TOTAL_SEGMENTS, TlvTag.SAR_SEGMENT_SEQNUM)
        )
        for r in received
    ]
    assert sar == [(1, 3, 1), (1, 3, 2), (1, 3, 3)]
    assert "".join(r.text for r in received) == HANGUL_LONG
    # every segment's receipt maps back to our one message
    assert {r.message_id for r in await reports.wait_for(3)} == {"m-long"}
    await provider.aclose()


async def test_lms_goes_whole_in_message_payload(standin: tuple[CarrierStandin, int]) -> None:
    peer, port = standin
    provider = SmppProvider(_config(port), Reports())
    result = await provider.send(
        OutgoingSms("m-lms", "+821012345678", HANGUL_LONG, kind="lms", subject="심각")
    )
    assert result.accepted
    (got,) = peer.received
    assert got.text == f"[심각]\n{HANGUL_LONG}"
    assert [t.tag for t in got.tlvs] == [TlvTag.MESSAGE_PAYLOAD]
    await provider.aclose()


async def test_receipt_is_redelivered_when_our_sink_fails(
    standin: tuple[CarrierStandin, int],
) -> None:
    _, port = standin
    seen: list[DeliveryReport] = []

    async def flaky_sink(report: DeliveryReport) -> None:
        seen.append(report)
        if len(seen) == 1:
            raise RuntimeError("database down")

    provider = SmppProvider(_config(port), flaky_sink)
    assert (await provider.send(OutgoingSms("m-1", "+821012345678", "x"))).accepted
    async with asyncio.timeout(5):
        while len(seen) < 2:
            await asyncio.sleep(0.05)
    assert [(r.message_id, r.status) for r in seen] == [("m-1", "delivered")] * 2
    await provider.aclose()


async def test_link_down_then_back(standin: tuple[CarrierStandin, int]) -> None:
    peer, port = standin
    provider = SmppProvider(_config(port), Reports())
    assert (await provider.send(OutgoingSms("m-1", "+821012345678", "x"))).accepted
    await peer.stop()
    await asyncio.sleep(0.05)
    down = await provider.send(OutgoingSms("m-2", "+821012345678", "x"))
    assert (down.accepted, down.retryable) == (False, True)
    again = CarrierStandin(password=STANDIN_PASSWORD)
    await again.start(port=port)
    up = await provider.send(OutgoingSms("m-2", "+821012345678", "x"))
    assert up.accepted
    await provider.aclose()
    await again.stop()


async def test_bind_refused_is_retryable(standin: tuple[CarrierStandin, int]) -> None:
    _, port = standin
    provider = SmppProvider(_config(port, password=SecretStr("wrong")), Reports())
    result = await provider.send(OutgoingSms("m-1", "+821012345678", "x"))
    assert (result.accepted, result.retryable) == (False, True)
    assert result.error is not None and "ESME_RINVPASWD" in result.error


# --- a scripted peer for SMSC answers the stand-in never gives ---------------


async def _scripted_peer(
    submit_status: int, answer_enquire_link: bool, binds: list[int]
) -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                pdu = await read_pdu(reader)
                if pdu.command_id == CommandId.BIND_TRANSCEIVER:
                    binds.append(pdu.sequence_number)
                    writer.write(encode(response_to(pdu, BindResp("SCRIPT"))))
                elif pdu.command_id == CommandId.SUBMIT_SM:
                    body = MessageIdResp("" if submit_status else "42")
                    writer.write(encode(response_to(pdu, body, submit_status)))
                elif (
                    pdu.command_id == CommandId.ENQUIRE_LINK and answer_enquire_link
                ) or pdu.command_id == CommandId.UNBIND:
                    writer.write(encode(response_to(pdu)))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


@pytest.mark.parametrize(
    ("status", "accepted", "retryable"),
    [
        (CommandStatus.ESME_ROK, True, False),
        (CommandStatus.ESME_RTHROTTLED, False, True),
        (CommandStatus.ESME_RMSGQFUL, False, True),
        (CommandStatus.ESME_RSYSERR, False, True),
        (CommandStatus.ESME_RINVDSTADR, False, False),
        (CommandStatus.ESME_RINVDCS, False, False),
        (CommandStatus.ESME_RX_P_APPN, False, False),
        (0x00000401, False, True),  # vendor-specific: we cannot judge it, try again
    ],
)
async def test_submit_status_classification(status: int, accepted: bool, retryable: bool) -> None:
    server, port = await _scripted_peer(status, True, [])
    provider = SmppProvider(_config(port), Reports())
    result = await provider.send(OutgoingSms("m-1", "+821012345678", "x"))
    assert (result.accepted, result.retryable) == (accepted, retryable)
    await provider.aclose()
    server.close()


async def test_unanswered_enquire_link_drops_the_link_and_rebinds() -> None:
    binds: list[int] = []
    server, port = await _scripted_peer(0, False, binds)
    cfg = _config(port, enquire_link_interval_s=0.05, response_timeout_s=0.1)
    provider = SmppProvider(cfg, Reports())
    assert (await provider.send(OutgoingSms("m-1", "+821012345678", "x"))).accepted
    await asyncio.sleep(0.4)  # one interval plus one unanswered timeout
    assert (await provider.send(OutgoingSms("m-2", "+821012345678", "x"))).accepted
    assert len(binds) == 2
    await provider.aclose()
    server.close()
