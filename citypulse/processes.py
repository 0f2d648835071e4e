"""Background processes the stack starts itself: pid files, logs, clean stop.

A pid file alone is not proof (pids are reused), so each record also keeps a marker that
must appear in the process's command line; `stop` never signals a process without it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


class ProcessError(RuntimeError):
    """A service could not be started or stopped; the message says what to do."""


@dataclass(frozen=True)
class Daemon:
    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.json"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def record(self) -> dict[str, object] | None:
        try:
            data: dict[str, object] = json.loads(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data

    def pid(self) -> int | None:
        rec = self.record()
        if rec is None:
            return None
        pid, marker = rec.get("pid"), rec.get("marker")
        if not isinstance(pid, int) or not isinstance(marker, str):
            return None
        return pid if _cmdline_has(pid, marker) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(
        self,
        argv: Sequence[str],
        *,
        marker: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> int:
        """Start argv detached unless it already runs; return its pid."""
        existing = self.pid()
        if existing is not None:
            return existing
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open_private_log(self.log_file) as log:
            proc = subprocess.Popen(  # noqa: S603 - argv is built by the project, not user input
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,  # survives the CLI and gets its own process group
                umask=LOG_UMASK,  # what the service writes itself is not world-readable either
            )
        self.pid_file.write_text(
            json.dumps({"pid": proc.pid, "marker": marker, "argv": list(argv)})
        )
        return proc.pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after timeout; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL at once: for crash tests."""
        pid = self.pid()
        if pid is not None:
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log yet)"


LOG_MODE = 0o640  # logs name areas, masked phones and users: not for every local account
LOG_UMASK = 0o027


def open_private_log(path: Path) -> BinaryIO:
    """`path` opened for appending, created LOG_MODE; an older, laxer file is tightened."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_MODE)
    os.fchmod(fd, os.fstat(fd).st_mode & LOG_MODE)
    return os.fdopen(fd, "ab")


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of ours still "exists"; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _cmdline_has(pid: int, marker: str) -> bool:
    if not _alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return marker.encode() in f.read().replace(b"\0", b" ")
    except FileNotFoundError:
        return False


def port_open(host: str, port: int, timeout_s: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_port_free(host: str, port: int, what: str, env_var: str) -> None:
    if port_open(host, port):
        raise ProcessError(
            f"{what}: port {host}:{port} is already taken by another process. "
            f"Stop that process or choose another port with {env_var}=<port>."
        )


def wait_until(check: object, timeout_s: float, what: str, log_hint: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.25)
    raise ProcessError(f"{what} did not come up within {timeout_s:.0f} s. {log_hint}".strip())
