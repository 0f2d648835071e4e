"""HAProxy's configuration as `up` renders it in HA mode (infra/haproxy)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from citypulse.config import StackSettings
from infra.haproxy import config as haproxy


def _settings(tmp_path: Path, **kw: object) -> StackSettings:
    return StackSettings(ha=True, var_dir=tmp_path, **kw)  # type: ignore[arg-type]


def test_both_sites_checked_on_health_and_kept_as_unchecked_backups(tmp_path: Path) -> None:
    text = haproxy.render(_settings(tmp_path, api_port=9000, api_port_a=9001, api_port_b=9002))
    assert "bind 127.0.0.1:9000" in text
    assert "option httpchk GET /health" in text
    assert "http-check expect status 200" in text
    servers = re.findall(r"^\s+server (\S+) (\S+)(.*)$", text, re.M)
    assert servers == [
        ("api-a", "127.0.0.1:9001", " check"),
        ("api-b", "127.0.0.1:9002", " check"),
        ("api-a-any", "127.0.0.1:9001", " backup"),
        ("api-b-any", "127.0.0.1:9002", " backup"),
    ]
    assert "$" not in text  # every placeholder filled
    # A fixed maxconn above what the fd limit allows stops HAProxy from starting.
    assert not re.search(r"^\s+maxconn", text, re.M)


def test_websockets_outlive_the_http_timeouts(tmp_path: Path) -> None:
    text = haproxy.render(_settings(tmp_path))
    seconds = {"s": 1, "m": 60, "h": 3600}

    def timeout(name: str) -> int:
        m = re.search(rf"^\s+timeout {name} (\d+)([smh])$", text, re.M)
        assert m, f"timeout {name} missing"
        return int(m.group(1)) * seconds[m.group(2)]

    assert timeout("tunnel") >= 600 > timeout("client")
    assert timeout("server") <= 60
    assert "option redispatch" in text and "balance leastconn" in text


def test_written_under_var_and_accepted_by_haproxy(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("HAProxy is not installed")
    s = _settings(tmp_path)
    argv = haproxy.prepare(s)  # runs `haproxy -c` on it
    assert haproxy.config_path(s) == tmp_path / "haproxy" / "haproxy.cfg"
    assert argv[-2:] == ["-f", str(haproxy.config_path(s))] and "-db" in argv
    assert str(haproxy.admin_socket(s)) in haproxy.config_path(s).read_text()
