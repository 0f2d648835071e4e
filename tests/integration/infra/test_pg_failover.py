"""HA mode's PostgreSQL: pg_auto_failover's monitor and two sites started by the project's
own code (infra/db/ha.py), the migrations applied through the multi-host conninfo; the
primary is killed with SIGKILL (its keeper and postmaster), the standby is promoted, and
writes go on through the same conninfo with no committed row lost. Then the killed site
is started again and rejoins as the standby.

Prints the failover time: from the kill to the first write the new primary committed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from citypulse.config import REPO_ROOT, StackSettings
from infra.db import ha
from infra.db.migrate import migrate
from streams.retrying import RetryingConnection
from tests.integration.support import wait_for

PORTS = {"db_monitor_port": 25440, "db_port": 25441, "db_standby_port": 25442}
# HA mode's processes: run with CITYPULSE_TEST_HA=1, outside CI's budget. It passed when
# run alone (via it.sh) but failed in the fresh-clone CI run of 2026-12-02 13:11 UTC: the
# supervised-kill test, which ran before it, used the same three ports (now its own), and
# the machine was loaded (the waits are longer now; the failover time is printed).
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not os.environ.get("CITYPULSE_TEST_HA"), reason="CITYPULSE_TEST_HA=1"),
]


class Pair:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, node: ha.Node) -> None:
        log = (ha.root(self.settings) / f"{node.name}.log").open("ab")
        self.procs[node.name] = subprocess.Popen(
            ha.command(self.settings, node),
            env={**os.environ, **ha.env(self.settings)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: keeper and postmaster
        )

    def kill(self, node: ha.Node, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(node.name)
        os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def explain(self) -> str:
        return f"states {ha.states(self.settings)}; logs in {ha.root(self.settings)}"

    def stop_all(self) -> None:
        for name, proc in list(self.procs.items()):
            os.killpg(proc.pid, signal.SIGINT)  # pg_autoctl: fast shutdown
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            del self.procs[name]


@pytest.fixture
def pair() -> Iterator[Pair]:
    settings = StackSettings(env="test", var_dir=REPO_ROOT / "var" / "test-ha", ha=True, **PORTS)
    shutil.rmtree(ha.root(settings), ignore_errors=True)  # a fresh pair every run
    ha.init(settings)
    p = Pair(settings)
    a, b = ha.sites(settings)
    try:
        p.start(ha.monitor(settings))
        wait_for(lambda: ha.monitor_ready(settings), 30, "the monitor", p.explain)
        p.start(a)
        wait_for(lambda: ha.node_ready(settings, a), 30, "site a as primary", p.explain)
        p.start(b)
        wait_for(lambda: ha.states(settings).get("b", ("", ""))[0] == "secondary" and
                 ha.node_ready(settings, a), 40, "site b as standby", p.explain)  # fmt: skip
        ha.ensure_role_and_database(settings)
        migrate(settings.db_conninfo, settings.db_schema)
        yield p
    finally:
        p.stop_all()


def test_primary_killed_standby_promoted_no_committed_row_lost(pair: Pair) -> None:
    s = pair.settings
    a = ha.sites(s)[0]
    assert ha.primary(s) == a
    assert "target_session_attrs=read-write" in s.db_conninfo
    with psycopg.connect(s.db_conninfo, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() != (0,)
        conn.execute("CREATE TABLE failover_probe (id bigint PRIMARY KEY, at timestamptz)")
        assert conn.info.port == a.port
    pool = AsyncConnectionPool(  # as the API opens it (dashboard_api/main.py)
        s.db_conninfo, min_size=1, max_size=2, open=False, timeout=5,
        check=AsyncConnectionPool.check_connection,
    )  # fmt: skip
    loop = asyncio.new_event_loop()
    loop.run_until_complete(pool.open(wait=True))
    try:
        _kill_and_write(pair, loop, pool)
    finally:
        loop.run_until_complete(pool.close())
        loop.close()


def _kill_and_write(pair: Pair, loop: asyncio.AbstractEventLoop, pool: AsyncConnectionPool) -> None:
    s = pair.settings

    # The worker's writers: a RetryingConnection waits out the outage (streams/sink.py).
    writer = RetryingConnection(s.db_conninfo, retry_max_s=0.5)
    acked: list[int] = []
    times: list[float] = []
    stop = threading.Event()

    def insert(conn: psycopg.Connection[tuple[object, ...]], n: int) -> int:
        conn.execute("INSERT INTO failover_probe VALUES (%s, now())", (n,))
        return conn.info.port

    def write() -> None:
        n = 0
        while not stop.is_set():
            writer.run(lambda c, n=n: insert(c, n), "probe")  # type: ignore[misc]
            acked.append(n)  # committed: the commit returned
            times.append(time.monotonic())
            n += 1
            time.sleep(0.01)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        _kill_and_see_promotion(pair, loop, pool, acked, times, stop)
    finally:
        stop.set()
        thread.join(timeout=15)
        writer.close()


def _kill_and_see_promotion(
    pair: Pair,
    loop: asyncio.AbstractEventLoop,
    pool: AsyncConnectionPool,
    acked: list[int],
    times: list[float],
    stop: threading.Event,
) -> None:
    s = pair.settings
    a, b = ha.sites(s)
    wait_for(lambda: len(acked) >= 100, 20, "writes before the kill")
    killed_at = time.monotonic()
    pair.kill(a)  # SIGKILL to site a's keeper and postmaster: a site lost
    wait_for(lambda: bool(times) and times[-1] > killed_at + 0.5 and ha.primary(s) == b, 120,
             "writes through the promoted standby", pair.explain)  # fmt: skip
    first_after = next(t for t in times if t > killed_at + 0.05)
    wait_for(lambda: len(acked) >= len([t for t in times if t <= first_after]) + 50, 20,
             "more writes on the new primary")  # fmt: skip
    stop.set()  # the writer ends after its current row
    time.sleep(1)
    print(f"\nfailover: writes resumed {first_after - killed_at:.1f} s after the kill")  # noqa: T201

    with psycopg.connect(s.db_conninfo, autocommit=True) as conn:
        assert conn.info.port == b.port
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        stored = {r[0] for r in conn.execute("SELECT id FROM failover_probe")}
    lost = sorted(set(acked) - stored)
    assert lost == [], f"{len(lost)} committed rows lost: {lost[:10]}"

    async def pooled() -> tuple[object, ...] | None:
        async with pool.connection() as conn:  # the pool drops the dead one, connects to b
            cur = await conn.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            return await cur.fetchone()

    assert loop.run_until_complete(pooled()) == (b.port, False)

    # The lost site comes back as the standby of the new primary (pg_rewind).
    back_at = time.monotonic()
    pair.start(a)
    wait_for(lambda: ha.states(s).get("a", ("", ""))[0] == "secondary", 60,
             "site a rejoining as standby", pair.explain)  # fmt: skip
    print(f"site a rejoined as standby in {time.monotonic() - back_at:.1f} s")  # noqa: T201
    assert ha.primary(s) == b
    on_a = f"host={ha.socket_dir(s)} port={a.port} user=postgres dbname={s.db_name}"

    def replayed() -> int:
        with psycopg.connect(on_a, autocommit=True) as standby:
            row = standby.execute("SELECT count(*) FROM failover_probe").fetchone()
            return int(row[0]) if row else -1

    wait_for(lambda: replayed() == len(stored), 20, "site a replaying every row")
