"""Under `citypulse up`, with real Kannel as the SMS gateway (run by `up` under the same
supervisord): supervisord restarts a worker and a dispatcher killed with SIGKILL, and once
their restart is switched off the watchdog's SMS reaches Kannel, then a recovery SMS when
they are back. Kafka's broker and PostgreSQL's postmaster killed with SIGKILL are restarted
too, and the pipeline recovers: /health is ok again and a new event is stored."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaError

from citypulse.cli import supervise
from citypulse.cli.stack import health
from citypulse.config import REPO_ROOT, StackSettings
from citypulse.topics import CITY_EVENTS
from infra.kannel import gateway
from infra.kannel.settings import KannelGatewaySettings
from tests.e2e.support import cli
from tests.hostile_events import valid_event
from tests.integration.support import settings_env, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.kannel, pytest.mark.timeout(900)]

STACK = StackSettings(
    env="test", var_dir=REPO_ROOT / "var" / "e2e" / "supervised", kafka_port=30092,
    kafka_controller_port=30093, db_port=30432, api_port=30000,
)  # fmt: skip
LAYOUT = supervise.Layout(STACK.run_dir, STACK.log_dir)
ONCALL = "+821000000901"  # the watchdog's only number: every SMS to it is the watchdog's
STALE_S = 15
# bearerbox's access log: one "Sent SMS" line per submit the carrier acknowledged.
_SENT = re.compile(
    r"Sent SMS \[SMSC:[^\]]*\].*?\[to:(?P<to>[^\]]*)\].*?\[msg:\d+:(?P<msg>[^\]]*)\]"
)
_STATUS = re.compile(r"^(?P<name>\S+)\s+(?:up|DOWN)\s+(?P<state>\S+)\s+pid=(?P<pid>\S+)\s+"
                     r"restarts=(?P<restarts>\d+)", re.MULTILINE)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def kannel() -> Iterator[tuple[Path, KannelGatewaySettings]]:
    """The Kannel settings `up` runs the gateway with (under supervisord, in the stack's
    var dir); `down` stops it."""
    try:
        gateway.install_if_missing()
    except gateway.KannelError as exc:
        pytest.skip(f"Kannel is not available: {exc}")
    settings = KannelGatewaySettings(
        admin_port=free_port(), smsbox_port=free_port(), sendsms_port=free_port(),
        smsc_port=free_port(),
    )  # fmt: skip
    var_dir = STACK.var_dir / "kannel"
    shutil.rmtree(var_dir, ignore_errors=True)  # a fresh access log
    yield var_dir, settings


@pytest.fixture(scope="module")
def env(kannel: tuple[Path, KannelGatewaySettings]) -> dict[str, str]:
    _, k = kannel
    return {
        **os.environ, **settings_env(STACK), "WEB_PORT": "30067",
        "CITYPULSE_SMS_PROVIDER": "kannel",
        "CITYPULSE_KANNEL_ADMIN_PORT": str(k.admin_port),
        "CITYPULSE_KANNEL_SMSBOX_PORT": str(k.smsbox_port),
        "CITYPULSE_KANNEL_SENDSMS_PORT": str(k.sendsms_port),
        "CITYPULSE_KANNEL_SMSC_PORT": str(k.smsc_port),
        "CITYPULSE_SMS_KANNEL_SENDSMS_URL": k.sendsms_url,
        "CITYPULSE_SMS_KANNEL_USERNAME": k.sendsms_username,
        "CITYPULSE_SMS_KANNEL_PASSWORD": k.sendsms_password.get_secret_value(),
        "CITYPULSE_SMS_DLR_CALLBACK_URL": f"{STACK.api_url}/sms/dlr/kannel",
        "CITYPULSE_WATCHDOG_ONCALL": ONCALL,
        "CITYPULSE_WATCHDOG_STALE_S": str(STALE_S),
        "CITYPULSE_WATCHDOG_INTERVAL_S": "2",
        "CITYPULSE_WATCHDOG_FEED_STALE_S": "0",  # no simulator: the feed is quiet on purpose
    }  # fmt: skip


@pytest.fixture(scope="module")
def stack(env: dict[str, str]) -> Iterator[dict[str, str]]:
    try:
        up = cli(env, "up", "--no-simulator")
        assert up.returncode == 0, up.stdout + up.stderr
        yield env
    finally:  # also after a failed `up`: supervisord's programs outlive a killed supervisord
        cli(env, "down")


def status(env: dict[str, str]) -> dict[str, tuple[str, int | None, int]]:
    out = cli(env, "status").stdout
    return {
        m["name"]: (m["state"], None if m["pid"] == "-" else int(m["pid"]), int(m["restarts"]))
        for m in _STATUS.finditer(out)
    }


def watchdog_sms(kannel_dir: Path) -> list[str]:
    log = kannel_dir / "log" / "access.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return [m["msg"] for m in _SENT.finditer(text) if m["to"].lstrip("+") == ONCALL.lstrip("+")]


def test_killed_processes_are_restarted(stack: dict[str, str]) -> None:
    # `up` returns once /health is ok, which can be before supervisord counts a program
    # RUNNING (its startsecs): wait for that, or a kill then reads as a failed start.
    wait_for(
        lambda: all(s == "RUNNING" for s, _, _ in status(stack).values()),
        30,
        "supervisord to count every program running",
        lambda: str(status(stack)),
    )
    before = status(stack)
    infra = ("postgres", "kafka", "carrier-standin", "bearerbox", "smsbox")
    assert all(before[name][0] == "RUNNING" for name in infra), before  # all supervised
    for name in ("worker", "dispatcher"):
        state, pid, restarts = before[name]
        assert state == "RUNNING" and pid is not None and restarts == 0, before
        os.kill(pid, signal.SIGKILL)

        def restarted(name: str = name, old: int = pid) -> bool:
            state, pid, restarts = status(stack)[name]
            return state == "RUNNING" and pid not in (None, old) and restarts == 1

        wait_for(restarted, 60, f"supervisord to restart {name}", lambda: str(status(stack)))
    assert status(stack)["api"][2] == 0  # only what was killed counts a restart


def test_watchdog_texts_outage_and_recovery_through_kannel(
    stack: dict[str, str], kannel: tuple[Path, KannelGatewaySettings]
) -> None:
    kannel_dir, _ = kannel

    def all_well() -> bool:  # a restart above may have been a short outage of its own
        try:
            checks = json.loads((STACK.run_dir / "watchdog.json").read_text())["checks"]
        except (FileNotFoundError, ValueError):
            return False
        return all(not checks.get(c, {"down": True})["down"] and not checks[c]["pending"]
                   for c in ("database", "worker", "dispatcher"))  # fmt: skip

    wait_for(all_well, 120, "the watchdog to see everything running")
    before = len(watchdog_sms(kannel_dir))
    ctl = supervise.supervisorctl_argv(LAYOUT, "stop", "worker", "dispatcher")
    subprocess.run(ctl, check=True, capture_output=True, env=stack)  # restart switched off
    stopped_at = time.monotonic()

    def texted(kind: str, check: str) -> bool:
        return any(kind in m and check in m for m in watchdog_sms(kannel_dir)[before:])

    for check in ("worker", "dispatcher"):
        wait_for(lambda c=check: texted("DOWN", c), 90 - (time.monotonic() - stopped_at),
                 f"the watchdog's SMS about the {check} in Kannel's access log",
                 lambda: str(watchdog_sms(kannel_dir)))  # fmt: skip

    ctl = supervise.supervisorctl_argv(LAYOUT, "start", "worker", "dispatcher")
    subprocess.run(ctl, check=True, capture_output=True, env=stack)
    for check in ("worker", "dispatcher"):
        wait_for(lambda c=check: texted("RECOVERED", c), 90,
                 f"the watchdog's recovery SMS about the {check}",
                 lambda: str(watchdog_sms(kannel_dir)))  # fmt: skip
    sent = watchdog_sms(kannel_dir)[before:]
    # One message per outage per check, however many rounds the watchdog looked.
    assert sum("DOWN" in m for m in sent) == 2, sent
    assert sum("RECOVERED" in m for m in sent) == 2, sent


def _stored(event_id: str) -> bool:
    try:
        with psycopg.connect(STACK.db_conninfo, connect_timeout=3) as conn:
            row = conn.execute(
                "SELECT 1 FROM crowd_readings WHERE event_id = %s", (event_id,)
            ).fetchone()
    except psycopg.Error:
        return False
    return row is not None


def _sent(event_id: str) -> bool:
    """Whether a producer could bootstrap and have the event acknowledged. A restarted
    broker can answer /health's metadata call and still refuse a new client for a while
    under load; like the simulator, the test then tries again."""
    try:
        producer = KafkaProducer(bootstrap_servers=STACK.kafka_bootstrap, acks="all", retries=10)
    except KafkaError:
        return False
    try:
        doc = valid_event("zone_count", event_id, datetime.now(UTC))
        producer.send(CITY_EVENTS.name(STACK.topic_prefix), value=json.dumps(doc).encode())
        producer.flush(60)
    except KafkaError:
        return False
    finally:
        producer.close()
    return True


@pytest.mark.parametrize("name", ["kafka", "postgres"])
def test_killed_infrastructure_is_restarted_and_the_pipeline_recovers(
    stack: dict[str, str], name: str
) -> None:
    # Last in this file: the outage it causes would otherwise be texted mid-test above.
    wait_for(lambda: health(STACK).get("status") == "ok", 120, "/health ok before the kill",
             lambda: str(health(STACK)))  # fmt: skip
    state, pid, restarts = status(stack)[name]
    assert state == "RUNNING" and pid is not None, status(stack)
    os.kill(pid, signal.SIGKILL)  # the broker's JVM, the postmaster (exec'd, same pid)

    def restarted() -> bool:
        state, new_pid, count = status(stack)[name]
        return state == "RUNNING" and new_pid not in (None, pid) and count > restarts

    wait_for(restarted, 120, f"supervisord to restart {name}", lambda: str(status(stack)))
    wait_for(lambda: health(STACK).get("status") == "ok", 180, "/health ok again",
             lambda: str(health(STACK)))  # fmt: skip
    event_id = f"after-{name}-{uuid.uuid4().hex[:8]}"
    wait_for(lambda: _sent(event_id), 120, f"an event accepted after the {name} restart")
    wait_for(lambda: _stored(event_id), 120, f"an event sent after the {name} restart stored",
             lambda: str(status(stack)))  # fmt: skip
