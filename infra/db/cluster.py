"""A project-owned PostgreSQL cluster from Debian's packages, on a project port.

PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres`
system user that Debian's package creates; the data directory is then owned by it.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql

from citypulse.config import StackSettings
from citypulse.processes import ProcessError, port_open, require_port_free, wait_until

log = logging.getLogger(__name__)
PG_SYSTEM_USER = "postgres"


def data_dir(settings: StackSettings) -> Path:
    return settings.pg_data_dir or settings.var_dir / "pg" / "data"


def socket_dir(settings: StackSettings) -> Path:
    return data_dir(settings).parent / "run"


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(found[-1]).parent if found else None


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parts[4])
    except (IndexError, ValueError):
        return 0


def install_if_missing() -> Path:
    """Install Debian's postgresql package when no server binaries are present."""
    found = bin_dir()
    if found is not None:
        return found
    if shutil.which("apt-get") is None:
        raise ProcessError("PostgreSQL is not installed and apt-get is unavailable: install it.")
    log.info("installing PostgreSQL from Debian's packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
        if res.returncode != 0:
            raise ProcessError(
                f"`{' '.join(cmd)}` failed; install PostgreSQL by hand "
                f"(apt-get install -y postgresql):\n{res.stderr[-1500:]}"
            )
    found = bin_dir()
    if found is None:
        raise ProcessError(
            "PostgreSQL was installed but initdb was not found under /usr/lib/postgresql"
        )
    return found


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_SYSTEM_USER, "--", *argv]
    return argv


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        pw = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def _run(argv: list[str], what: str) -> str:
    res = subprocess.run(_as_server_user(argv), capture_output=True, text=True, check=False)  # noqa: S603
    if res.returncode != 0:
        raise ProcessError(
            f"{what} failed (exit {res.returncode}):\n{(res.stdout + res.stderr)[-2000:]}"
        )
    return res.stdout


def timescaledb_library_present(bins: Path) -> bool:
    libdir = subprocess.run(  # noqa: S603
        [str(bins / "pg_config") if (bins / "pg_config").exists() else "pg_config", "--pkglibdir"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return bool(libdir) and any(Path(libdir).glob("timescaledb*.so"))


def init_cluster(settings: StackSettings, bins: Path) -> None:
    pgdata = data_dir(settings)
    if (pgdata / "PG_VERSION").exists():
        return
    for d in (pgdata.parent, pgdata, socket_dir(settings)):
        d.mkdir(parents=True, exist_ok=True)
        _chown_to_server_user(d)
    os.chmod(pgdata, 0o700)
    if os.geteuid() == 0:
        probe = subprocess.run(  # noqa: S603
            ["runuser", "-u", PG_SYSTEM_USER, "--", "test", "-w", str(pgdata)], check=False
        )
        if probe.returncode != 0:
            raise ProcessError(
                f"The postgres user cannot write {pgdata} (a parent directory is not "
                "traversable). Set CITYPULSE_PG_DATA_DIR to a directory it can reach."
            )
    _run(
        [str(bins / "initdb"), "-D", str(pgdata), "-U", "postgres", "-E", "UTF8", "--no-locale",
         "--auth-local=trust", "--auth-host=scram-sha-256"],
        "initdb",
    )  # fmt: skip
    extra = [
        "",
        "# CityPulse: project cluster settings",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{socket_dir(settings)}'",
        "shared_buffers = 512MB",
        "work_mem = 16MB",
        "maintenance_work_mem = 128MB",
        "max_wal_size = 2GB",
        "wal_compression = on",
        "checkpoint_timeout = 10min",
        "log_min_duration_statement = 2000",
    ]
    if timescaledb_library_present(bins):
        extra += ["shared_preload_libraries = 'timescaledb'", "timescaledb.telemetry_level = off"]
    with (pgdata / "postgresql.conf").open("a") as f:
        f.write("\n".join(extra) + "\n")


def is_running(settings: StackSettings) -> bool:
    bins = bin_dir()
    if bins is None or not (data_dir(settings) / "PG_VERSION").exists():
        return False
    res = subprocess.run(  # noqa: S603
        _as_server_user([str(bins / "pg_ctl"), "status", "-D", str(data_dir(settings))]),
        capture_output=True,
        check=False,
    )
    return res.returncode == 0


def prepare(settings: StackSettings) -> list[str]:
    """Install and initdb once; return the argv that runs the postmaster in the foreground.
    SIGINT is its fast shutdown; SIGTERM waits for every client to leave."""
    bins = install_if_missing()
    init_cluster(settings, bins)
    argv = [str(bins / "postgres"), "-D", str(data_dir(settings)), "-p", str(settings.db_port)]
    if os.geteuid() != 0:
        return argv
    # As root: become `postgres` by exec (setpriv, util-linux), so the supervisor's signals
    # reach the postmaster itself (runuser would stay in between and turn SIGINT into
    # SIGTERM then SIGKILL). A change of user clears the parent-death signal that
    # bound_to_parent set, so setpriv sets it again: fast shutdown if the supervisor dies.
    return [
        "setpriv", f"--reuid={PG_SYSTEM_USER}", f"--regid={PG_SYSTEM_USER}", "--init-groups",
        "--pdeathsig=INT", "--", *argv,
    ]  # fmt: skip


def is_ready(settings: StackSettings) -> bool:
    """Accepting connections on the unix socket (during crash recovery it is not)."""
    try:
        with psycopg.connect(superuser_conninfo(settings), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return port_open(settings.db_host, settings.db_port)
    except psycopg.Error:
        return False


def start(settings: StackSettings, timeout_s: float = 60.0) -> None:
    """Start the cluster with pg_ctl and its pid file (tests, `citypulse db start`; `up`
    runs the postmaster under supervisord instead)."""
    bins = install_if_missing()
    init_cluster(settings, bins)
    if is_running(settings):
        return
    require_port_free(settings.db_host, settings.db_port, "PostgreSQL", "CITYPULSE_DB_PORT")
    logfile = settings.log_dir / "postgres.log"
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    logfile.touch()
    _chown_to_server_user(logfile)
    _run(
        [str(bins / "pg_ctl"), "start", "-D", str(data_dir(settings)), "-l", str(logfile),
         "-o", f"-p {settings.db_port}", "-w", "-t", str(int(timeout_s))],
        f"starting PostgreSQL (log: {logfile})",
    )  # fmt: skip
    wait_until(lambda: port_open(settings.db_host, settings.db_port), timeout_s, "PostgreSQL")
    ensure_role_and_database(settings)


def stop(settings: StackSettings) -> bool:
    bins = bin_dir()
    if bins is None or not is_running(settings):
        return False
    _run(
        [str(bins / "pg_ctl"), "stop", "-D", str(data_dir(settings)), "-m", "fast", "-w"],
        "stopping PostgreSQL",
    )
    return True


def superuser_conninfo(settings: StackSettings, dbname: str = "postgres") -> str:
    # Trust over the private unix socket, which only postgres and root can reach.
    return f"host={socket_dir(settings)} port={settings.db_port} user=postgres dbname={dbname}"


def ensure_role_and_database(
    settings: StackSettings, superuser: Callable[[str], str] | None = None
) -> None:
    """`superuser`: the superuser conninfo for a database name (default: this cluster's
    socket; HA mode passes the primary's)."""
    su = superuser or (lambda dbname: superuser_conninfo(settings, dbname))
    password = settings.db_password.get_secret_value()
    with psycopg.connect(su("postgres"), autocommit=True) as conn:
        role = sql.Identifier(settings.db_user)
        exists = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s", (settings.db_user,)
        ).fetchone()
        verb = sql.SQL("ALTER") if exists else sql.SQL("CREATE")
        conn.execute(
            sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(verb, role, sql.Literal(password))
        )
        if not conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.db_name,)
        ).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(settings.db_name), role
                )
            )
    # Extensions need a superuser; create them once so migrations can use them.
    with psycopg.connect(su(settings.db_name), autocommit=True) as conn:
        available = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchone()
        if available:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
