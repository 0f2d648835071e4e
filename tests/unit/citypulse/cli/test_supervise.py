"""The supervisord config `up` writes and the restarts its listener counts."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from citypulse.cli.restart_listener import counted, parse_payload
from citypulse.cli.supervise import Layout, Program, render_config


def parsed(tmp_path: Path, programs: list[Program]) -> configparser.RawConfigParser:
    text = render_config(Layout(tmp_path / "run", tmp_path / "log"), programs, tmp_path)
    cp = configparser.RawConfigParser()
    cp.read_string(text)
    return cp


def test_every_program_restarts_with_backoff_and_stops_as_a_group(tmp_path: Path) -> None:
    cp = parsed(tmp_path, [Program("worker", ["python", "-m", "faust", "worker"], priority=100),
                           Program("api", ["python", "-m", "uvicorn"])])  # fmt: skip
    for name in ("worker", "api"):
        sec = cp[f"program:{name}"]
        assert sec["autorestart"] == "true" and int(sec["startretries"]) > 0
        assert sec["stopasgroup"] == "true" and sec["killasgroup"] == "true"
        assert sec["stdout_logfile"] == str(tmp_path / "log" / f"{name}.log")
    assert cp["supervisord"]["umask"] == "027"  # logs 0640
    assert cp["unix_http_server"]["chmod"] == "0700"
    assert "citypulse.cli.restart_listener" in cp["eventlistener:restart-listener"]["command"]


def test_percent_and_environment_survive_supervisord_expansion(tmp_path: Path) -> None:
    cp = parsed(tmp_path, [Program("w", ["echo", "50%"], {"CITYPULSE_WORKER_ID": "worker-2"})])
    sec = cp["program:w"]
    assert sec["command"].endswith(" echo 50%%")  # supervisord reads %% as %
    assert sec["environment"] == 'CITYPULSE_WORKER_ID="worker-2"'


def event(name: str, from_state: str) -> tuple[str, dict[str, str]]:
    body = parse_payload(f"processname:{name} groupname:{name} from_state:{from_state} tries:0")
    return "PROCESS_STATE_STARTING", body


@pytest.mark.parametrize(
    ("events", "counts"),
    [
        ([event("worker", "STOPPED")], {}),  # the first start is no restart
        ([event("worker", "STOPPED"), event("worker", "EXITED")], {"worker": 1}),
        ([event("api", "BACKOFF"), event("api", "BACKOFF"), event("worker", "EXITED")],
         {"api": 2, "worker": 1}),
        ([("PROCESS_STATE_RUNNING", {"processname": "worker", "from_state": "STARTING"})], {}),
    ],
)  # fmt: skip
def test_restarts_are_starts_after_an_exit(
    events: list[tuple[str, dict[str, str]]], counts: dict[str, int]
) -> None:
    got: dict[str, int] = {}
    for name, body in events:
        got = counted(got, name, body)
    assert got == counts


def test_programs_wait_for_up_and_stop_with_their_own_signal(tmp_path: Path) -> None:
    pg = Program("postgres", ["postgres", "-D", "d"], stopsignal="INT", stopasgroup=False,
                 stopwaitsecs=60, directory=tmp_path / "pg")  # fmt: skip
    cp = parsed(tmp_path, [pg, Program("api", ["uvicorn"])])
    sec = cp["program:postgres"]
    # up starts each program once what it needs answers, not supervisord at its own start
    assert cp["program:api"]["autostart"] == "false" and sec["autostart"] == "false"
    assert sec["stopsignal"] == "INT" and sec["stopwaitsecs"] == "60"
    assert sec["stopasgroup"] == "false" and sec["killasgroup"] == "true"
    assert sec["directory"] == str(tmp_path / "pg")
    assert cp["program:api"]["directory"] == str(tmp_path)
    assert cp["eventlistener:restart-listener"].get("autostart", "true") == "true"
