"""HAProxy (Debian's package) in front of the API processes of sites a and b in HA mode:
the configuration rendered from haproxy.template.conf into <var>/haproxy/, and the argv
supervisord runs (master-worker, in the foreground)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from citypulse.config import StackSettings
from citypulse.processes import ProcessError, port_open


@dataclass(frozen=True)
class Backend:
    name: str  # the supervisord program, and the server's name in HAProxy
    host: str
    port: int


def backends(settings: StackSettings) -> list[Backend]:
    return [
        Backend("api-a", settings.api_host, settings.api_port_a),
        Backend("api-b", settings.api_host, settings.api_port_b),
    ]


def directory(settings: StackSettings) -> Path:
    return settings.var_dir / "haproxy"


def config_path(settings: StackSettings) -> Path:
    return directory(settings) / "haproxy.cfg"


def admin_socket(settings: StackSettings) -> Path:
    return settings.run_dir / "haproxy.sock"


def render(settings: StackSettings, global_extra: str = "") -> str:
    template = resources.files("infra.haproxy").joinpath("haproxy.template.conf")
    servers = [f"    server {b.name} {b.host}:{b.port} check" for b in backends(settings)]
    servers += [f"    server {b.name}-any {b.host}:{b.port} backup" for b in backends(settings)]
    return Template(template.read_text(encoding="utf-8")).substitute(
        config_path=config_path(settings),
        admin_socket=admin_socket(settings),
        global_extra=global_extra,
        bind=f"{settings.api_host}:{settings.api_port}",
        servers="\n".join(servers),
    )


def binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise ProcessError(
            "HAProxy is not installed: apt-get install haproxy (scripts/bootstrap.sh)"
        )
    return found


def check(path: Path) -> None:
    """`haproxy -c`: refuse a configuration HAProxy would refuse."""
    res = subprocess.run(  # noqa: S603
        [binary(), "-c", "-q", "-f", str(path)], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise ProcessError(f"HAProxy refuses {path}:\n{(res.stdout + res.stderr)[-2000:]}")


def prepare(settings: StackSettings) -> list[str]:
    """Write and check the configuration; return the argv that runs HAProxy in the
    foreground (-db) as master and worker (-W): SIGTERM stops it, SIGUSR2 reloads."""
    path = config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(render(settings))
    check(path)
    return [binary(), "-W", "-db", "-f", str(path)]


def is_ready(settings: StackSettings) -> bool:
    return port_open(settings.api_host, settings.api_port)
