"""The stack's long-running processes under supervisord (PyPI `supervisor`, from the venv).

`up` renders one supervisord config under <var>/run, starts supervisord (it daemonizes with
umask 027, so every log it creates is 0640) and talks to it over its unix socket (0700).
Programs do not start with supervisord: `up` starts them one by one (start_program) so
that each can wait for what it needs (PostgreSQL and Kafka ready before the worker).
supervisord restarts a program that exits: at once if it had been running for `startsecs`,
else after 1, 2, 3 ... s for `startretries` tries, then marks it FATAL; the restart
listener (citypulse.cli.restart_listener) counts restarts and tries a FATAL program again
every minute. `down` shuts supervisord down, which stops exactly its programs.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import subprocess
import sys
import time
import xmlrpc.client
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from citypulse.processes import ProcessError

VENV_BIN = Path(sys.executable).parent
LISTENER = "restart-listener"
# Each program dies with supervisord, even a SIGKILLed one (see bound_to_parent).
BOUND = (sys.executable, "-m", "citypulse.cli.bound_to_parent")


@dataclass(frozen=True)
class Program:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)
    # A program that exits sooner than this after its start counts as a failed start
    # (backoff 1, 2, 3 ... s); later exits are restarted at once.
    startsecs: int = 5
    startretries: int = 5
    stopwaitsecs: int = 30  # stopsignal, then SIGKILL to the whole process group
    priority: int = 500  # lower starts first, stops last
    stopsignal: str = "TERM"
    # False: the stop signal goes to the program alone (PostgreSQL's postmaster tells its
    # backends itself); SIGKILL after stopwaitsecs still goes to the whole group.
    stopasgroup: bool = True
    directory: Path | None = None  # default: the stack's working directory


@dataclass(frozen=True)
class Layout:
    run_dir: Path
    log_dir: Path

    @property
    def conf(self) -> Path:
        return self.run_dir / "supervisord.conf"

    @property
    def socket(self) -> Path:
        return self.run_dir / "supervisor.sock"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "supervisord.pid"

    @property
    def restarts_file(self) -> Path:
        return self.run_dir / "restarts.json"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"


def _value(text: str) -> str:
    # supervisord expands %(name)s in every value; a literal % is %%.
    return text.replace("%", "%%")


def _environment(env: Mapping[str, str]) -> str:
    return ",".join(f'{k}="{_value(v).replace(chr(34), "")}"' for k, v in env.items())


def render_config(layout: Layout, programs: Sequence[Program], cwd: Path) -> str:
    """supervisord.conf for `programs` plus the restart listener."""
    lines = [
        "; Written by `citypulse up`; rewritten at every start of supervisord.",
        "[unix_http_server]",
        f"file={_value(str(layout.socket))}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={_value(str(layout.log_file('supervisord')))}",
        f"pidfile={_value(str(layout.pid_file))}",
        f"childlogdir={_value(str(layout.log_dir))}",
        "umask=027",
        "logfile_maxbytes=10MB",
        "logfile_backups=5",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_value(str(layout.socket))}",
        "",
    ]
    for p in programs:
        lines += [
            f"[program:{p.name}]",
            f"command={_value(shlex.join([*BOUND, *p.argv]))}",
            f"directory={_value(str(p.directory or cwd))}",
            "autostart=false",  # up starts each when what it needs is ready
            "autorestart=true",
            f"startsecs={p.startsecs}",
            f"startretries={p.startretries}",
            f"stopwaitsecs={p.stopwaitsecs}",
            f"stopsignal={p.stopsignal}",
            f"stopasgroup={str(p.stopasgroup).lower()}",
            "killasgroup=true",
            f"priority={p.priority}",
            "umask=027",
            "redirect_stderr=true",
            f"stdout_logfile={_value(str(layout.log_file(p.name)))}",
            "stdout_logfile_maxbytes=50MB",
            "stdout_logfile_backups=5",
        ]
        if p.env:
            lines.append(f"environment={_environment(p.env)}")
        lines.append("")
    listener = [
        sys.executable, "-m", "citypulse.cli.restart_listener", str(layout.restarts_file),
    ]  # fmt: skip
    lines += [
        f"[eventlistener:{LISTENER}]",
        f"command={_value(shlex.join(listener))}",
        f"directory={_value(str(cwd))}",
        "events=PROCESS_STATE,TICK_60",
        "autorestart=true",
        "priority=1",
        "stdout_logfile=NONE",  # its stdout is the event protocol
        f"stderr_logfile={_value(str(layout.log_file(LISTENER)))}",
        "",
    ]
    return "\n".join(lines)


def rpc(layout: Layout) -> Any:
    """The supervisord XML-RPC interface over its unix socket."""
    transport = SupervisorTransport(None, None, f"unix://{layout.socket}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def is_running(layout: Layout) -> bool:
    try:
        return bool(rpc(layout).supervisor.getState()["statename"] == "RUNNING")
    except (OSError, xmlrpc.client.Error):
        return False


def start(layout: Layout, programs: Sequence[Program], cwd: Path, timeout_s: float = 20) -> None:
    """Start supervisord with `programs` unless it already runs (then leave it alone)."""
    if is_running(layout):
        return
    layout.run_dir.mkdir(parents=True, exist_ok=True)
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    own_log = layout.log_file("supervisord")
    own_log.touch()
    own_log.chmod(0o640)  # supervisord opens its own log before it applies its umask
    layout.conf.write_text(render_config(layout, programs, cwd))
    layout.conf.chmod(0o600)
    layout.restarts_file.unlink(missing_ok=True)  # counts belong to one supervisord
    done = subprocess.run(  # noqa: S603 - the venv's own supervisord, our config
        [str(VENV_BIN / "supervisord"), "-c", str(layout.conf)],
        capture_output=True, text=True, cwd=cwd, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise ProcessError(f"supervisord did not start: {done.stderr.strip() or done.stdout}")
    deadline = time.monotonic() + timeout_s
    while not is_running(layout):
        if time.monotonic() > deadline:
            raise ProcessError(f"supervisord did not answer within {timeout_s:.0f} s; see "
                               f"{layout.log_file('supervisord')}")  # fmt: skip
        time.sleep(0.2)


def start_program(layout: Layout, name: str) -> None:
    """Ask supervisord to start `name` (no wait for startsecs); one already running is fine."""
    try:
        rpc(layout).supervisor.startProcess(name, False)
    except xmlrpc.client.Fault as exc:
        if "ALREADY_STARTED" not in exc.faultString:
            raise ProcessError(f"supervisord could not start {name}: {exc.faultString}") from exc


def state(layout: Layout, name: str) -> str:
    """supervisord's state name for `name` ("UNKNOWN" if supervisord does not answer)."""
    try:
        info: dict[str, Any] = rpc(layout).supervisor.getProcessInfo(name)
    except (OSError, xmlrpc.client.Error):
        return "UNKNOWN"
    return str(info["statename"])


def _supervisord_pid(layout: Layout) -> int | None:
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            mine = str(layout.conf).encode() in f.read()
    except FileNotFoundError:
        return None
    return pid if mine else None


def stop(layout: Layout, timeout_s: float = 600) -> list[str]:
    """Shut supervisord down (it stops its programs one priority group after the other,
    highest first, each within its stopwaitsecs); return the programs that were running."""
    pid = _supervisord_pid(layout)
    if not is_running(layout) and pid is None:
        return []
    stopped = [p["name"] for p in processes(layout) if p["statename"] == "RUNNING"]
    with contextlib.suppress(OSError, xmlrpc.client.Error):
        rpc(layout).supervisor.shutdown()
    deadline = time.monotonic() + timeout_s
    while pid is not None and _supervisord_pid(layout) == pid:
        if time.monotonic() > deadline:
            raise ProcessError(f"supervisord (pid {pid}) did not stop in {timeout_s:.0f} s")
        time.sleep(0.2)
    return [n for n in stopped if n != LISTENER]


def processes(layout: Layout) -> list[dict[str, Any]]:
    """supervisord's getAllProcessInfo (name, statename, pid, start, ...), [] if it is down."""
    try:
        info: list[dict[str, Any]] = rpc(layout).supervisor.getAllProcessInfo()
    except (OSError, xmlrpc.client.Error):
        return []
    return info


def restart_counts(layout: Layout) -> dict[str, int]:
    try:
        counts: dict[str, int] = json.loads(layout.restarts_file.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return counts


def log_tail(layout: Layout, name: str, lines: int = 20) -> str:
    try:
        text = layout.log_file(name).read_text(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(text.splitlines()[-lines:])


def supervisorctl_argv(layout: Layout, *args: str) -> list[str]:
    """For operators and tests: `supervisorctl -c <conf> <args>`."""
    return [str(VENV_BIN / "supervisorctl"), "-c", str(layout.conf), *args]
