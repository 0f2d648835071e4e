"""Real Kannel on free ports in a temp var dir, and a DLR receiver that records reports in
the test's schema through alerts.delivery, as the API's route does."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from alerts.delivery import record_delivery_report
from alerts.providers.base import DeliveryReport
from alerts.providers.kannel_callback import DLR_PATH, build_kannel_dlr_router
from citypulse.config import StackSettings
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from tests.integration.support import settings_env

DLR_SECRET = "integration-test-dlr-secret-0123456789"  # noqa: S105 - dispatcher and receiver

# bearerbox's access log: one "Sent SMS" line per submit the carrier acknowledged.
_SENT = re.compile(r"Sent SMS \[SMSC:[^\]]*\][^\n]*?\[to:(?P<to>[^\]]*)\]")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Kannel:
    var_dir: Path
    settings: KannelGatewaySettings

    def sent_destinations(self) -> list[str]:
        """Numbers of every submit the carrier took, from Kannel's own access log."""
        log = self.var_dir / "log" / "access.log"
        if not log.exists():
            return []
        return [m["to"] for m in _SENT.finditer(log.read_text(errors="replace"))]

    def stop(self) -> None:
        gateway.stop(self.var_dir, only=[gateway.SMSBOX, gateway.BEARERBOX])

    def start(self) -> None:
        gateway.start(self.var_dir)


@pytest.fixture
def kannel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    """A Kannel of its own per test, so access-log counts belong to that test."""
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    settings = KannelGatewaySettings(
        admin_port=free_port(), smsbox_port=free_port(), sendsms_port=free_port(),
        smsc_port=free_port(), verbosity=1,
    )  # fmt: skip
    var_dir = tmp_path_factory.mktemp("kannel")
    gateway.start(var_dir, settings)
    yield Kannel(var_dir, settings)
    gateway.stop(var_dir)


@dataclass
class DlrReceiver:
    url: str
    reports: list[DeliveryReport] = field(default_factory=list)


@pytest_asyncio.fixture
async def dlr_receiver(isolated: StackSettings) -> AsyncIterator[DlrReceiver]:
    receiver = DlrReceiver("")

    async def sink(report: DeliveryReport) -> None:
        await record_delivery_report(isolated.db_conninfo, report, handed_to="kannel")
        receiver.reports.append(report)  # only what the outbox took, as the API's route

    app = FastAPI()
    app.include_router(build_kannel_dlr_router(sink, secret=SecretStr(DLR_SECRET)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.05)
    receiver.url = f"http://127.0.0.1:{port}{DLR_PATH}"
    yield receiver
    server.should_exit = True
    await task


def sms_env(kannel: Kannel, dlr_url: str) -> dict[str, str]:
    s = kannel.settings
    return {
        "CITYPULSE_SMS_PROVIDER": "kannel",
        "CITYPULSE_SMS_KANNEL_SENDSMS_URL": s.sendsms_url,
        "CITYPULSE_SMS_KANNEL_USERNAME": s.sendsms_username,
        "CITYPULSE_SMS_KANNEL_PASSWORD": s.sendsms_password.get_secret_value(),
        "CITYPULSE_SMS_DLR_CALLBACK_URL": dlr_url,
        "CITYPULSE_SMS_DLR_SECRET": DLR_SECRET,
    }


def start_dispatcher(
    settings: StackSettings, kannel: Kannel, dlr_url: str, log: Path, **extra: str
) -> subprocess.Popen[bytes]:
    """`python -m citypulse.cli dispatcher` with the Kannel provider, as `up` runs it."""
    env = {**os.environ, **settings_env(settings), **sms_env(kannel, dlr_url), **extra}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "citypulse.cli", "dispatcher"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
