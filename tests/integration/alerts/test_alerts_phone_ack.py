"""Acknowledging from the phone with real Kannel: the carrier stand-in delivers a reply
"1" (an MO deliver_sm), Kannel's sms-service calls the API's route, the newest alert
texted to that number is acknowledged in the recipient's name. The signed link in the
SMS acknowledges once; reused, expired or forged links are refused."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from alerts.phone_ack.links import LinkMaker, sign_link
from alerts.phone_ack.replies import mo_route_key
from alerts.providers.settings import SmsSettings
from alerts.rules import AreaInfo
from alerts.service import AlertService
from alerts.settings import AlertSettings
from citypulse.config import StackSettings
from citypulse.domain.area_state import AreaState
from dashboard_api.api.phone_ack import build_phone_ack_router, mo_callback_url
from infra.kannel import gateway
from infra.kannel.carrier_standin import inject_mo
from infra.kannel.settings import KannelGatewaySettings
from tests.integration.alerts.conftest import Kannel, free_port

SECRET = "integration-test-ack-secret-0123456789"  # noqa: S105
PHONE = "+821012345678"
AREAS = {
    "POI004": AreaInfo("POI004", "이태원 관광특구", "Itaewon", "용산구"),
    # Another district: a second alert in the same one would wait for its grouping window.
    "POI005": AreaInfo("POI005", "서울역", "Seoul Station", "중구"),
}


def _state(area: str, t: datetime, seq: int) -> AreaState:
    return AreaState(
        scope="area", area_code=area, as_of=t, people=3400.0, walkable_m2=1000.0,
        density_per_m2=3.4, stage="alert", stage_ko="경계", seq=seq,
    )  # fmt: skip


@pytest.fixture
def api_port() -> int:
    return free_port()


@pytest_asyncio.fixture
async def ack_api(isolated: StackSettings, api_port: int) -> AsyncIterator[str]:
    """The API's phone routes on their own, as dashboard_api.main mounts them."""
    sms = SmsSettings(ack_secret=SecretStr(SECRET), dlr_allowed_sources=("127.0.0.1",))
    app = FastAPI()
    app.include_router(build_phone_ack_router(sms))
    pool = AsyncConnectionPool(isolated.db_conninfo, min_size=1, max_size=4, open=False)
    await pool.open()
    app.state.pool = pool
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:
            await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{api_port}"
    server.should_exit = True
    await task
    await pool.close()


@pytest.fixture
def kannel_mo(tmp_path_factory: pytest.TempPathFactory, api_port: int) -> Iterator[Kannel]:
    """Real Kannel whose sms-service calls the API above with each incoming SMS."""
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    mo_url = mo_callback_url(f"http://127.0.0.1:{api_port}", mo_route_key(SECRET))
    settings = KannelGatewaySettings(
        admin_port=free_port(), smsbox_port=free_port(), sendsms_port=free_port(),
        smsc_port=free_port(), verbosity=1, mo_url=SecretStr(mo_url),
    )  # fmt: skip
    var_dir = tmp_path_factory.mktemp("kannel-mo")
    gateway.start(var_dir, settings)
    yield Kannel(var_dir, settings)
    gateway.stop(var_dir)


def _status(db: psycopg.Connection[tuple[object, ...]], alert_id: int) -> tuple[object, ...]:
    row = db.execute("SELECT status, acknowledged_by FROM alerts WHERE id = %s", (alert_id,))
    return row.fetchone() or ()


def _link_token(db: psycopg.Connection[tuple[object, ...]], alert_id: int) -> str:
    (body,) = db.execute(
        "SELECT body FROM sms_outbox WHERE alert_id = %s ORDER BY id LIMIT 1", (alert_id,)
    ).fetchone() or ("",)
    m = re.search(r" (http://\S+)/a/(\S+)$", str(body))
    assert m is not None, f"no acknowledgement link at the end of {body!r}"
    return m[2]


async def test_reply_and_link_acknowledge_in_the_recipients_name(
    isolated: StackSettings,
    db: psycopg.Connection[tuple[object, ...]],
    ack_api: str,
    kannel_mo: Kannel,
) -> None:
    db.execute(
        "INSERT INTO recipients (name, phone_e164, tier) VALUES ('용산구청 김담당', %s, 1)",
        (PHONE,),
    )
    now = datetime.now(UTC)
    links = LinkMaker(SECRET, ack_api, 24 * 3600)
    service = AlertService(isolated.db_conninfo, AREAS, AlertSettings(stage_hold_s=0), links)
    await service.start(now)
    await service.on_state(_state("POI004", now, 1), now)
    (first,) = db.execute("SELECT id FROM alerts").fetchone() or (0,)
    first_id = int(str(first))

    async with httpx.AsyncClient(base_url=ack_api, timeout=10) as http:
        # The link: a GET (a link previewer) shows, does not acknowledge.
        token = _link_token(db, first_id)
        page = await http.get(f"/a/{token}")
        assert page.status_code == 200 and "김담당" in page.text and "<form" in page.text
        assert "<script" not in page.text and PHONE not in page.text
        assert _status(db, first_id) == ("open", None)
        used = await http.post(f"/a/{token}")
        assert used.status_code == 200, used.text
        assert _status(db, first_id) == ("acknowledged", "용산구청 김담당 (SMS link)")
        again = await http.post(f"/a/{token}")
        assert again.status_code == 410 and "used already" in again.text
        forged = await http.post(f"/a/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
        assert forged.status_code == 404

        # A second alert; its link signed with an expiry already past is refused.
        later = now + timedelta(seconds=5)
        await service.on_state(_state("POI005", later, 2), later)
        (second,) = db.execute("SELECT max(id) FROM alerts").fetchone() or (0,)
        second_id = int(str(second))
        assert _link_token(db, second_id)  # texted to the recipient, with its own link
        (rid,) = db.execute("SELECT id FROM recipients").fetchone() or (0,)
        past = sign_link(SECRET, second_id, int(str(rid)), now - timedelta(seconds=1))
        expired = await http.post(f"/a/{past.token}")
        assert expired.status_code == 410 and "expired" in expired.text
        assert _status(db, second_id) == ("open", None)

    # A stranger's "1" does nothing; the recipient's "1" through Kannel acknowledges.
    inject_mo(kannel_mo.var_dir, "01099990001", "1")
    inject_mo(kannel_mo.var_dir, "01012345678", "1")
    async with asyncio.timeout(60):
        while _status(db, second_id)[0] != "acknowledged":
            await asyncio.sleep(0.3)
    assert _status(db, second_id) == ("acknowledged", "용산구청 김담당 (SMS reply)")
    audit = db.execute(
        "SELECT actor, action FROM alert_audit WHERE alert_id = %s AND action = 'acknowledged'",
        (second_id,),
    ).fetchall()
    assert audit == [("용산구청 김담당 (SMS reply)", "acknowledged")]
    await service.close()
