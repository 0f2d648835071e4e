"""The production systemd units cover what `citypulse up` supervises, each restarted with
backoff and stopped gracefully (issue 13: supervised processes)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from citypulse.config import REPO_ROOT

SYSTEMD = REPO_ROOT / "deploy" / "systemd"
# Long-running services; a oneshot run by a timer (the nightly backup) is not restarted.
UNITS = sorted(
    p for p in SYSTEMD.glob("*.service") if "Type=oneshot" not in p.read_text(encoding="utf-8")
)


def unit(path: Path) -> configparser.RawConfigParser:
    cp = configparser.RawConfigParser(strict=False)
    cp.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    cp.read(path)
    return cp


def test_every_long_running_process_has_a_unit() -> None:
    names = {p.stem for p in UNITS}
    assert {"citypulse-kafka", "citypulse-bearerbox", "citypulse-smsbox", "citypulse-api",
            "citypulse-dispatcher", "citypulse-watchdog", "citypulse-worker@"} <= names  # fmt: skip
    # PostgreSQL is Debian's own unit, given a restart by a drop-in.
    dropin = unit(SYSTEMD / "postgresql@.service.d" / "citypulse.conf")
    assert dropin["Service"]["Restart"] == "on-failure"


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.stem)
def test_each_unit_restarts_with_backoff_and_never_gives_up(path: Path) -> None:
    u = unit(path)
    assert u["Service"]["Restart"] == "on-failure"
    assert "RestartSteps" in u["Service"] and "RestartMaxDelaySec" in u["Service"]
    assert u["Unit"]["StartLimitIntervalSec"] == "0"
    assert "TimeoutStopSec" in u["Service"] or u["Service"].get("KillMode") == "control-group"


def test_kafka_stops_with_its_controlled_shutdown_and_the_app_waits_for_it() -> None:
    kafka = unit(SYSTEMD / "citypulse-kafka.service")["Service"]
    assert kafka["KillSignal"] == "SIGTERM" and "143" in kafka["SuccessExitStatus"]
    assert "kafka.Kafka" in kafka["ExecStart"]
    for name in ("citypulse-worker@", "citypulse-api", "citypulse-dispatcher"):
        after = unit(SYSTEMD / f"{name}.service")["Unit"]["After"].split()
        assert {"postgresql.service", "citypulse-kafka.service"} <= set(after), name
