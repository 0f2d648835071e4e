"""`citypulse db backup` taken while readings are being written, restored by
`citypulse db restore` into a second, empty PostgreSQL cluster: every table holds what
the backup counted, and the snapshot is whole (no write half in it)."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from citypulse.config import REPO_ROOT, StackSettings
from infra.db import cluster
from infra.db.backup import manifest_path
from tests.integration.support import run_cli

Db = psycopg.Connection[tuple[object, ...]]
SHARED_PORTS = {29092, 29093, 25432, 30092, 31092, 31432, 31000}  # other test services
WRITE_BATCH = 40  # readings per writer transaction
SEED_DAYS = 3
SEED_PER_DAY = 40_000  # enough that the dump takes a while


def _free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in SHARED_PORTS:
            return port


@pytest.fixture
def empty_cluster() -> Iterator[StackSettings]:
    """A second cluster of its own (initdb), with the role and database but no schema.
    Under var/test: the postgres user must be able to reach it, and it.sh cleans it up."""
    var = REPO_ROOT / "var" / "test" / f"restore-{uuid.uuid4().hex[:8]}"
    settings = StackSettings(env="test", var_dir=var, db_port=_free_port())
    cluster.start(settings)
    try:
        yield settings
    finally:
        cluster.stop(settings)
        shutil.rmtree(var, ignore_errors=True)


class ReadingWriter(threading.Thread):
    """Commits WRITE_BATCH readings and their 1-minute stat in one transaction, again and
    again: a dump that caught half a transaction would show count != sum of samples."""

    def __init__(self, conninfo: str) -> None:
        super().__init__(daemon=True)
        self.conninfo = conninfo
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with psycopg.connect(self.conninfo) as conn:
                while not self.stop.is_set():
                    now = datetime.now(UTC)
                    rows = [("LOAD", "telecom", "load", f"w{self.committed + i}", now, now, 1.0)
                            for i in range(WRITE_BATCH)]  # fmt: skip
                    with conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO crowd_readings (area_code, source, origin, event_id,"
                            " event_time, ingest_time, people) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                            rows,
                        )
                        cur.execute(
                            "INSERT INTO crowd_stats_1m AS s (area_code, source, bucket, samples,"
                            " people_sum, people_min, people_max, people_last, last_event_time,"
                            " walkable_m2) VALUES ('LOAD', 'telecom', date_trunc('minute', %s),"
                            " %s, %s, 1, 1, 1, %s, 1000) ON CONFLICT (area_code, zone_id,"
                            " source, bucket) DO UPDATE SET samples = s.samples + EXCLUDED.samples,"
                            " people_sum = s.people_sum + EXCLUDED.people_sum",
                            (now, WRITE_BATCH, float(WRITE_BATCH), now),
                        )
                    conn.commit()
                    self.committed += WRITE_BATCH
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc


def _seed(db: Db, now: datetime) -> None:
    for day in range(SEED_DAYS):
        start = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        db.execute("SELECT cp_ensure_day_partitions('crowd_readings', %s, %s)", (start, start))
        db.execute("SELECT cp_ensure_day_partitions('crowd_stats_1m', %s, %s)", (start, start))
        db.execute(
            "INSERT INTO crowd_readings (area_code, source, origin, event_id, event_time,"
            " ingest_time, people) SELECT 'POI00' || (i %% 9 + 1), 'telecom', 'seed',"
            " 's' || %s || '-' || i, %s + i * interval '2 seconds', %s, i %% 5000"
            " FROM generate_series(0, %s - 1) AS i",
            (day, start, start, SEED_PER_DAY),
        )
    db.execute("SELECT cp_ensure_day_partitions('crowd_readings', %s, %s)", (now, now))
    db.execute("SELECT cp_ensure_day_partitions('crowd_stats_1m', %s, %s)", (now, now))


def _counts(conn: Db, schema: str) -> dict[str, int]:
    tables = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
        (schema,),
    ).fetchall()
    out = {}
    for (name,) in tables:
        q = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(str(name))
        )
        row = conn.execute(q).fetchone()
        out[f"{schema}.{name}"] = int(str(row[0])) if row else -1
    return out


def _load(conn: Db, schema: str) -> tuple[int, int]:
    """(LOAD readings, LOAD samples in the 1-minute stats)."""
    row = conn.execute(
        sql.SQL(
            "SELECT (SELECT count(*) FROM {s}.crowd_readings WHERE area_code = 'LOAD'),"
            " (SELECT coalesce(sum(samples), 0) FROM {s}.crowd_stats_1m WHERE area_code = 'LOAD')"
        ).format(s=sql.Identifier(schema))
    ).fetchone()
    assert row is not None
    return int(str(row[0])), int(str(row[1]))


def test_backup_under_load_restores_into_an_empty_cluster_with_the_same_counts(
    isolated: StackSettings, db: Db, empty_cluster: StackSettings, tmp_path: Path
) -> None:
    schema = isolated.db_schema
    _seed(db, datetime.now(UTC))
    dump = tmp_path / "citypulse.dump"

    writer = ReadingWriter(isolated.db_conninfo)
    writer.start()
    try:
        while writer.committed < 10 * WRITE_BATCH and writer.error is None:
            threading.Event().wait(0.05)
        before = writer.committed
        taken = run_cli(isolated, "db", "backup", "--file", str(dump), timeout=300)
        after = writer.committed
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, repr(writer.error)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert after > before, "no write was committed while the backup ran"
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # phone numbers are in it

    counted = json.loads(manifest_path(dump).read_text(encoding="utf-8"))["counts"]
    in_dump = counted[f"{schema}.crowd_readings"] - SEED_DAYS * SEED_PER_DAY
    assert before <= in_dump <= after and in_dump % WRITE_BATCH == 0
    source_now = _counts(db, schema)
    # Tables nobody wrote to meanwhile are as they are now; the written one is a prefix.
    for table, n in source_now.items():
        if not table.endswith(("crowd_readings", "crowd_stats_1m")):
            assert counted[table] == n, table

    target = empty_cluster.model_copy(update={"db_schema": schema})
    with psycopg.connect(target.db_conninfo, autocommit=True) as conn:
        assert _counts(conn, schema) == {}, "the restore target starts empty"
    restored = run_cli(target, "db", "restore", "--file", str(dump), timeout=300)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "row counts equal the backup's in every table" in restored.stdout

    with psycopg.connect(target.db_conninfo, autocommit=True) as conn:
        assert _counts(conn, schema) == counted
        readings, samples = _load(conn, schema)
        # One snapshot: every writer transaction is wholly in it or wholly out of it.
        assert readings == samples == in_dump
        partitions = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass",
            (f"{schema}.crowd_readings",),
        ).fetchone()
        assert partitions is not None and int(str(partitions[0])) >= SEED_DAYS + 1

    # A database that has tables is refused, never merged into.
    again = run_cli(target, "db", "restore", "--file", str(dump), timeout=120)
    assert again.returncode == 2 and "already has" in again.stderr
