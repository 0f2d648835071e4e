"""Real Kannel (bearerbox + smsbox) from infra/kannel, SMPP to the carrier stand-in, and
delivery reports back on our dlr-url, served by the same FastAPI router the API mounts."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from alerts.providers.base import DeliveryReport, OutgoingSms
from alerts.providers.kannel import KannelConfig, KannelProvider
from alerts.providers.kannel_callback import DLR_PATH, build_kannel_dlr_router
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings

pytestmark = [pytest.mark.integration, pytest.mark.kannel]

DLR_SECRET = SecretStr("gateway-test-dlr-secret")
HANGUL_ALERT = "[경계] 홍대 관광특구 밀집도 3.4명/m², 10분째 상승 중입니다. 현장 확인 바랍니다."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    var_dir: Path
    settings: KannelGatewaySettings


@pytest.fixture(scope="session")
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    settings = KannelGatewaySettings(
        admin_port=_free_port(),
        smsbox_port=_free_port(),
        sendsms_port=_free_port(),
        smsc_port=_free_port(),
        verbosity=1,
    )
    var_dir = tmp_path_factory.mktemp("kannel")
    gateway.start(var_dir, settings)
    yield Gateway(var_dir, settings)
    gateway.stop(var_dir)


class DlrInbox:
    """Reports by message_id, as the dispatcher's sink would receive them."""

    def __init__(self) -> None:
        self.reports: list[DeliveryReport] = []
        self._changed = asyncio.Condition()

    async def __call__(self, report: DeliveryReport) -> None:
        async with self._changed:
            self.reports.append(report)
            self._changed.notify_all()

    async def final_for(self, message_id: str, timeout_s: float = 30.0) -> DeliveryReport:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(
                lambda: any(r.message_id == message_id and r.is_final for r in self.reports)
            )
        return next(r for r in self.reports if r.message_id == message_id and r.is_final)

    def statuses(self, message_id: str) -> list[str]:
        return [r.status for r in self.reports if r.message_id == message_id]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dlr_inbox() -> AsyncIterator[tuple[DlrInbox, str]]:
    inbox = DlrInbox()
    app = FastAPI()
    app.include_router(build_kannel_dlr_router(inbox, secret=DLR_SECRET))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.05)
    yield inbox, f"http://127.0.0.1:{port}{DLR_PATH}"
    server.should_exit = True
    await task


@pytest_asyncio.fixture(loop_scope="session")
async def provider(
    kannel: Gateway, dlr_inbox: tuple[DlrInbox, str]
) -> AsyncIterator[KannelProvider]:
    s = kannel.settings
    config = KannelConfig(
        sendsms_url=s.sendsms_url,
        username=s.sendsms_username,
        password=s.sendsms_password,
        dlr_callback_url=dlr_inbox[1],
        dlr_secret=DLR_SECRET,
        timeout_s=5.0,
    )
    p = KannelProvider(config)
    yield p
    await p.aclose()


@pytest.mark.parametrize(
    ("message_id", "to", "final_status", "stat_word"),
    [
        ("it-delivered-1", "+821012345678", "delivered", "stat:DELIVRD"),
        ("it-undeliv-1", "+821012340000", "failed", "stat:UNDELIV"),
        ("it-refused-1", "+821012349999", "rejected", "Invalid Destination Address"),
    ],
)
async def test_sms_through_kannel_reports_back(
    provider: KannelProvider,
    dlr_inbox: tuple[DlrInbox, str],
    message_id: str,
    to: str,
    final_status: str,
    stat_word: str,
) -> None:
    inbox, _ = dlr_inbox
    result = await provider.send(OutgoingSms(message_id, to, HANGUL_ALERT))
    assert result.accepted, result.error
    report = await inbox.final_for(message_id)
    assert report.status == final_status
    assert stat_word in report.provider_status
    if final_status != "rejected":
        # the SMSC's ACK (type 8) precedes the receipt, both for the same message id
        assert inbox.statuses(message_id)[0] == "at_smsc"
        assert report.provider_message_id is not None


async def test_kannel_down_is_retryable_then_message_goes_through(
    kannel: Gateway, provider: KannelProvider, dlr_inbox: tuple[DlrInbox, str]
) -> None:
    inbox, _ = dlr_inbox
    message = OutgoingSms("it-restart-1", "+821087654321", HANGUL_ALERT)
    await asyncio.to_thread(gateway.stop, kannel.var_dir, only=[gateway.SMSBOX, gateway.BEARERBOX])
    try:
        down = await provider.send(message)
        assert (down.accepted, down.retryable) == (False, True)
        assert down.error is not None and "unreachable" in down.error
    finally:
        await asyncio.to_thread(gateway.start, kannel.var_dir)
    up = await provider.send(message)
    assert up.accepted, up.error
    assert (await inbox.final_for(message.message_id)).status == "delivered"


async def test_queued_message_survives_kannel_restart(
    kannel: Gateway, provider: KannelProvider, dlr_inbox: tuple[DlrInbox, str]
) -> None:
    inbox, _ = dlr_inbox
    # Carrier unreachable: Kannel accepts and keeps the message in its store.
    await asyncio.to_thread(gateway.stop, kannel.var_dir, only=[gateway.CARRIER])
    try:
        await asyncio.sleep(1.0)  # let bearerbox notice the SMPP link is gone
        queued = await provider.send(OutgoingSms("it-store-1", "+821055556666", HANGUL_ALERT))
        assert queued.accepted, queued.error
        await asyncio.sleep(1.5)  # store-dump-freq is 1 s
        assert inbox.statuses("it-store-1") == []  # nothing reached a carrier
        await asyncio.to_thread(gateway.stop, kannel.var_dir)
        assert not gateway.is_running(kannel.var_dir)
    finally:
        await asyncio.to_thread(gateway.start, kannel.var_dir)
    assert gateway.is_running(kannel.var_dir)
    report = await inbox.final_for("it-store-1")
    assert report.status == "delivered"


def test_write_config_renders_ports_store_and_private_files(tmp_path: Path) -> None:
    settings = KannelGatewaySettings(admin_port=23100, sendsms_port=23113, smsc_port=23114)
    conf = gateway.write_config(tmp_path, settings)
    text = conf.read_text()
    for line in (
        "admin-port = 23100",
        "sendsms-port = 23113",
        "port = 23114",
        f'store-location = "{tmp_path}/store/kannel.store"',
        "dlr-storage = sqlite3",
        "smsc = smpp",
    ):
        assert line in text
    assert "$" not in text  # every placeholder filled
    assert conf.stat().st_mode & 0o777 == 0o600
    assert gateway.load_settings(tmp_path).sendsms_port == 23113
    assert not gateway.is_running(tmp_path)
