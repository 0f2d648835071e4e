"""Install, configure, start and stop Kannel (bearerbox + smsbox) and its carrier stand-in.

Everything runtime lives under one var dir (normally <repo>/var/kannel): kannel.conf and
gateway.json (written by write_config), log/, run/ (pid records), store/ (Kannel's
message store) and dlr.sqlite3. `stop` only signals processes whose pid record names
this var dir, so it never touches another Kannel on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from string import Template

from citypulse.processes import Daemon, ProcessError, port_open
from infra.kannel.settings import KannelGatewaySettings

TEMPLATE = Path(__file__).with_name("kannel.template.conf")
CARRIER, BEARERBOX, SMSBOX = "carrier", "bearerbox", "smsbox"
START_ORDER = (CARRIER, BEARERBOX, SMSBOX)  # smsbox panics without a bearerbox to join
SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")

DLR_TABLE = """CREATE TABLE IF NOT EXISTS dlr (
  smsc TEXT, ts TEXT, destination TEXT, source TEXT, service TEXT,
  url TEXT, mask INTEGER, status INTEGER, boxc TEXT)"""


class KannelError(ProcessError):
    """Kannel cannot be installed, configured, started or stopped; says what to do."""


def find_binary(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    return next((Path(d) / name for d in SEARCH_DIRS if (Path(d) / name).exists()), None)


def install_if_missing() -> Path:
    """Return bearerbox's path, installing Debian's kannel package first if needed."""
    existing = find_binary("bearerbox")
    if existing is not None and find_binary("smsbox") is not None:
        return existing
    apt = shutil.which("apt-get")
    if apt is None:
        raise KannelError(
            "Kannel (bearerbox, smsbox) is not installed and apt-get is not available. "
            "Install Kannel 1.4 from your distribution and put bearerbox and smsbox on PATH."
        )
    if os.geteuid() != 0:
        raise KannelError("Kannel is not installed. Run as root: apt-get install -y kannel")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in ([apt, "update"], [apt, "install", "-y", "kannel"]):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise KannelError(f"{' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    installed = find_binary("bearerbox")
    if installed is None:
        raise KannelError("apt-get installed kannel but bearerbox is not to be found")
    return installed


def _layout(var_dir: Path) -> dict[str, Path]:
    return {
        "conf": var_dir / "kannel.conf",
        "state": var_dir / "gateway.json",
        "log_dir": var_dir / "log",
        "run_dir": var_dir / "run",
        "store_dir": var_dir / "store",
        "dlr_db": var_dir / "dlr.sqlite3",
    }


def _mo_service(mo_url: str) -> str:
    """Incoming SMS go to our API (which answers none); without a URL, nowhere."""
    if not mo_url:
        return 'text = ""'
    return f'get-url = "{mo_url}"\nomit-empty = true'


def write_config(var_dir: Path, s: KannelGatewaySettings) -> Path:
    """Render kannel.conf (and gateway.json, which start/stop read) into var_dir."""
    paths = _layout(var_dir)
    for key in ("log_dir", "run_dir", "store_dir"):
        paths[key].mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(paths["dlr_db"]) as db:  # Kannel does not create its DLR table
        db.execute(DLR_TABLE)
    text = Template(TEMPLATE.read_text()).substitute(
        host=s.host,
        admin_port=s.admin_port,
        admin_password=s.admin_password.get_secret_value(),
        smsbox_port=s.smsbox_port,
        sendsms_port=s.sendsms_port,
        sendsms_username=s.sendsms_username,
        sendsms_password=s.sendsms_password.get_secret_value(),
        default_sender=s.default_sender,
        smsc_host=s.smsc_host,
        smsc_port=s.smsc_port,
        smsc_username=s.smsc_username,
        smsc_password=s.smsc_password.get_secret_value(),
        log_dir=paths["log_dir"],
        store_dir=paths["store_dir"],
        dlr_db=paths["dlr_db"],
        mo_service=_mo_service(s.mo_url.get_secret_value()),
    )
    _write_private(paths["conf"], text)
    state = s.model_dump(mode="json")
    for secret in ("admin_password", "sendsms_password", "smsc_password", "mo_url"):
        state[secret] = getattr(s, secret).get_secret_value()
    _write_private(paths["state"], json.dumps(state, indent=2))
    return paths["conf"]


def _write_private(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o600)  # holds passwords


def load_settings(var_dir: Path) -> KannelGatewaySettings:
    state = _layout(var_dir)["state"]
    if not state.exists():
        raise KannelError(f"{state} is missing: run write_config (or `start`) first")
    return KannelGatewaySettings.model_validate(json.loads(state.read_text()))


def _daemon(var_dir: Path, name: str) -> Daemon:
    paths = _layout(var_dir)
    return Daemon(f"kannel-{name}", paths["run_dir"], paths["log_dir"])


def _argv(var_dir: Path, name: str, s: KannelGatewaySettings) -> list[str]:
    conf = str(_layout(var_dir)["conf"])
    if name == CARRIER:
        return [
            sys.executable,
            "-m",
            "infra.kannel.carrier_standin",
            f"--host={s.smsc_host}",
            f"--port={s.smsc_port}",
            f"--system-id={s.smsc_username}",
            f"--password={s.smsc_password.get_secret_value()}",
            f"--var-dir={var_dir}",  # lets stop() recognise this very process
        ]
    binary = find_binary(name)
    if binary is None:
        raise KannelError(f"{name} not found: call install_if_missing() first")
    return [str(binary), "-v", str(s.verbosity), conf]


def _ready_port(name: str, s: KannelGatewaySettings) -> int:
    return {CARRIER: s.smsc_port, BEARERBOX: s.smsbox_port, SMSBOX: s.sendsms_port}[name]


def _components(s: KannelGatewaySettings, only: Iterable[str] | None) -> list[str]:
    wanted = set(only) if only is not None else set(START_ORDER)
    if not s.carrier_standin:
        wanted.discard(CARRIER)
    return [name for name in START_ORDER if name in wanted]


def start(
    var_dir: Path,
    settings: KannelGatewaySettings | None = None,
    *,
    only: Iterable[str] | None = None,
    timeout_s: float = 30.0,
) -> None:
    """Start the carrier stand-in, bearerbox and smsbox in the background; return once
    the sendsms port answers. Writes the config first if var_dir has none (or if
    settings are given). Components already running are left alone."""
    if settings is not None:
        write_config(var_dir, settings)
    elif not _layout(var_dir)["conf"].exists():
        raise KannelError(f"{var_dir} has no kannel.conf: start it once with settings")
    s = load_settings(var_dir)
    repo_root = Path(__file__).resolve().parents[2]
    for name in _components(s, only):
        daemon = _daemon(var_dir, name)
        if daemon.is_running():
            continue
        port = _ready_port(name, s)
        if port_open(s.host if name != CARRIER else s.smsc_host, port):
            raise KannelError(
                f"{name}: port {port} is taken by another process; stop it or set "
                f"CITYPULSE_KANNEL_*_PORT to a free port"
            )
        marker = str(var_dir) if name == CARRIER else str(_layout(var_dir)["conf"])
        daemon.start(_argv(var_dir, name, s), marker=marker, cwd=repo_root)
        _wait_for_port(daemon, s.smsc_host if name == CARRIER else s.host, port, timeout_s)


def supervised_commands(
    var_dir: Path, settings: KannelGatewaySettings
) -> list[tuple[str, list[str], str, int]]:
    """For a supervisor (`citypulse up`), instead of start(): writes the config and returns,
    in start order, each component's (name, foreground argv, host, port it is ready on)."""
    write_config(var_dir, settings)
    s = load_settings(var_dir)
    return [
        (name, _argv(var_dir, name, s), s.smsc_host if name == CARRIER else s.host,
         _ready_port(name, s))
        for name in _components(s, None)
    ]  # fmt: skip


def _wait_for_port(daemon: Daemon, host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(host, port, timeout_s=0.2):
            return
        # Just after exec /proc/<pid>/cmdline can read empty: ask twice before giving up.
        if not daemon.is_running():
            time.sleep(0.5)
            if not daemon.is_running():
                raise KannelError(f"{daemon.name} exited at start:\n{daemon.log_tail()}")
        time.sleep(0.1)
    raise KannelError(
        f"{daemon.name}: port {port} not open after {timeout_s}s\n{daemon.log_tail()}"
    )


def stop(var_dir: Path, *, only: Iterable[str] | None = None, timeout_s: float = 30.0) -> list[str]:
    """Stop what start() started for this var_dir (smsbox first); returns what stopped.
    bearerbox writes its queue to the store as it shuts down."""
    wanted = set(only) if only is not None else set(START_ORDER)
    stopped = []
    for name in reversed(START_ORDER):
        if name in wanted and _daemon(var_dir, name).stop(timeout_s):
            stopped.append(name)
    return stopped


def status(var_dir: Path) -> dict[str, bool]:
    return {name: _daemon(var_dir, name).is_running() for name in START_ORDER}


def is_running(var_dir: Path) -> bool:
    """True when bearerbox and smsbox (and the stand-in, if configured) all run."""
    try:
        s = load_settings(var_dir)
    except KannelError:
        return False
    running = status(var_dir)
    return all(running[name] for name in _components(s, None))


def log_tail(var_dir: Path, name: str, lines: int = 30) -> str:
    return _daemon(var_dir, name).log_tail(lines)
