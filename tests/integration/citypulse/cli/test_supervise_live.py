"""A real supervisord from the venv: a killed program comes back with a new pid and one
counted restart; a program that keeps failing backs off to FATAL; stop ends everything."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import tempfile
from pathlib import Path

from citypulse.cli import supervise
from citypulse.config import REPO_ROOT
from tests.integration.support import wait_for


def test_kill_restart_count_and_stop() -> None:
    # Not pytest's tmp_path: a concurrent pytest session may prune it under a live socket.
    (REPO_ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    tmp_path = Path(tempfile.mkdtemp(prefix="supervise-", dir=REPO_ROOT / "var" / "test"))
    layout = supervise.Layout(tmp_path / "run", tmp_path / "log")
    programs = [
        supervise.Program("sleeper", ["sleep", "600"], startsecs=1),
        # startsecs 5: on a loaded machine `false` has been seen to take over a second to
        # start and exit, which supervisord counts as a good start (RUNNING), not a crash.
        supervise.Program("crasher", ["false"], startsecs=5, startretries=1),
    ]
    supervise.start(layout, programs, cwd=tmp_path)
    try:
        for program in programs:  # `up` starts each program once what it needs is ready
            supervise.start_program(layout, program.name)

        def info(name: str) -> dict[str, object]:
            return next(p for p in supervise.processes(layout) if p["name"] == name)

        wait_for(lambda: info("sleeper")["statename"] == "RUNNING", 20, "sleeper running")
        old = int(str(info("sleeper")["pid"]))
        os.kill(old, signal.SIGKILL)
        wait_for(
            lambda: info("sleeper")["statename"] == "RUNNING" and info("sleeper")["pid"] != old,
            20, "sleeper restarted",
        )  # fmt: skip
        # The count is written by the restart listener, a separate Python process that a
        # loaded machine has been seen to take over 10 s to start.
        wait_for(lambda: supervise.restart_counts(layout).get("sleeper") == 1, 60, "one restart")
        wait_for(lambda: info("crasher")["statename"] == "FATAL", 30, "crasher given up")
        assert supervise.restart_counts(layout).get("crasher", 0) >= 1
        for log in ("sleeper", "supervisord"):
            assert stat.S_IMODE(layout.log_file(log).stat().st_mode) == 0o640
        assert stat.S_IMODE(layout.socket.stat().st_mode) == 0o700
        new = int(str(info("sleeper")["pid"]))
    finally:
        stopped = supervise.stop(layout)
    assert stopped == ["sleeper"]
    assert not supervise.is_running(layout)
    assert not Path(f"/proc/{new}").exists()
    shutil.rmtree(tmp_path)


def test_programs_die_with_a_killed_supervisord() -> None:
    (REPO_ROOT / "var" / "test").mkdir(parents=True, exist_ok=True)
    tmp_path = Path(tempfile.mkdtemp(prefix="supervise-", dir=REPO_ROOT / "var" / "test"))
    layout = supervise.Layout(tmp_path / "run", tmp_path / "log")
    supervise.start(layout, [supervise.Program("sleeper", ["sleep", "600"], startsecs=1)], tmp_path)
    try:
        supervise.start_program(layout, "sleeper")
        wait_for(
            lambda: any(
                p["name"] == "sleeper" and p["statename"] == "RUNNING"
                for p in supervise.processes(layout)
            ),
            20, "sleeper running",
        )  # fmt: skip
        child = next(p["pid"] for p in supervise.processes(layout) if p["name"] == "sleeper")
        # RUNNING comes after startsecs, not after the exec: under load the Python wrapper
        # (bound_to_parent) has been seen still starting 10 s later. The claim is about the
        # program, so wait until the wrapper has bound itself and exec'd it.
        wait_for(lambda: _command(child) == "sleep", 60, "the wrapper to exec the program")
        os.kill(int(layout.pid_file.read_text()), signal.SIGKILL)
        wait_for(
            lambda: not _alive(child),
            30,
            "the orphaned program to end",
            lambda: Path(f"/proc/{child}/status").read_text().replace("\n", " ")[:300],
        )
    finally:
        supervise.stop(layout)
        shutil.rmtree(tmp_path)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""
