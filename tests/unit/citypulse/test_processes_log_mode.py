"""Daemon logs are private: created 0640, an older world-readable one tightened, and what
the service writes itself gets the same umask."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

from citypulse.processes import Daemon


def _run(tmp_path: Path, script: str) -> Daemon:
    d = Daemon("svc", tmp_path / "run", tmp_path / "log")
    d.start([sys.executable, "-c", script, "log-mode-test"], marker="log-mode-test", cwd=tmp_path)
    deadline = time.monotonic() + 20
    while d.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not d.is_running()
    return d


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_log_and_the_files_the_service_makes_are_not_world_readable(
    tmp_path: Path,
) -> None:
    d = _run(tmp_path, "open('made-by-service', 'w').write('x'); print('started', flush=True)")
    assert "started" in d.log_file.read_text()
    assert _mode(d.log_file) == 0o640
    assert _mode(tmp_path / "made-by-service") & 0o027 == 0


def test_an_older_world_readable_log_is_tightened_and_kept(tmp_path: Path) -> None:
    log = tmp_path / "log" / "svc.log"
    log.parent.mkdir()
    log.write_text("earlier line\n")
    os.chmod(log, 0o666)  # noqa: S103 - the lax old file under test
    d = _run(tmp_path, "print('again', flush=True)")
    assert d.log_file.read_text().splitlines() == ["earlier line", "again"]
    assert _mode(log) == 0o640
