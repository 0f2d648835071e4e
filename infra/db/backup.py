"""`citypulse db backup` and `citypulse db restore`: pg_dump's custom format, taken while
the service writes, with a manifest of the row counts the dump holds.

Why pg_dump and not pg_basebackup: a logical dump is of one database (or one schema),
taken with the application's own role, restores into any cluster of the same or a newer
PostgreSQL major version, and its custom format restores selectively (one table, one
day's partition). pg_basebackup copies a whole cluster byte for byte, needs a replication
role and the same major version and build, and only pays off with WAL archiving for
point-in-time recovery; the standby of the high-availability mode already covers a lost
server. The dump is one consistent snapshot (MVCC): writes go on while it runs and none
of them is half in it.

The counts are taken in the very snapshot pg_dump reads (`pg_export_snapshot` and
`pg_dump --snapshot`), so a restore can check it got every row the backup holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from citypulse.config import StackSettings
from citypulse.processes import ProcessError
from infra.db.cluster import bin_dir

# Schemas that belong to PostgreSQL or TimescaleDB, never to the application.
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
_TABLES = """
SELECT n.nspname, c.relname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%'
   AND n.nspname NOT LIKE '\\_timescaledb%%' AND n.nspname NOT LIKE 'timescaledb\\_%%'
   AND (%s::text IS NULL OR n.nspname = %s)
 ORDER BY 1, 2
"""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Path
    counts: dict[str, int]  # "schema.table" -> rows in the dump
    bytes: int


def manifest_path(dump: Path) -> Path:
    return dump.with_name(dump.name + ".json")


def default_path(settings: StackSettings, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return settings.var_dir / "backups" / f"{settings.db_name}-{stamp}.dump"


def _tool(name: str) -> str:
    """The client of the server's major version when the server is local (Debian keeps
    one per version), else the one on PATH."""
    bins = bin_dir()
    if bins is not None and (bins / name).exists():
        return str(bins / name)
    found = shutil.which(name)
    if found is None:
        raise ProcessError(f"{name} not found: install postgresql-client")
    return found


def _env(settings: StackSettings) -> dict[str, str]:
    return {**os.environ, "PGPASSWORD": settings.db_password.get_secret_value()}


def _connection_args(settings: StackSettings) -> list[str]:
    return [f"--host={settings.db_host}", f"--port={settings.db_port}",
            f"--username={settings.db_user}", f"--dbname={settings.db_name}"]  # fmt: skip


def _only_schema(settings: StackSettings) -> str | None:
    """The whole database for the default schema; only the configured one otherwise
    (tests, or a cluster shared between deployments)."""
    return None if settings.db_schema == "public" else settings.db_schema


def table_counts(conn: psycopg.Connection[Any], schema: str | None) -> dict[str, int]:
    counts = {}
    for nsp, rel in conn.execute(_TABLES, (list(_SYSTEM_SCHEMAS), schema, schema)).fetchall():
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(nsp), sql.Identifier(rel)
        )
        row = conn.execute(query).fetchone()
        counts[f"{nsp}.{rel}"] = int(row[0]) if row else 0
    return counts


def backup(settings: StackSettings, path: Path) -> BackupResult:
    """Dump the database (or the configured schema) to `path`, custom format, 0600: it
    holds recipients' phone numbers. Written aside and renamed, so a file at `path` is
    always a whole dump."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    schema = _only_schema(settings)
    with psycopg.connect(settings.db_conninfo) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        snapshot = str(row[0]) if row else ""
        counts = table_counts(conn, schema)
        argv = [
            _tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
            f"--snapshot={snapshot}", f"--file={partial}", *_connection_args(settings),
        ]  # fmt: skip
        if schema is not None:
            argv.append(f"--schema={schema}")
        partial.unlink(missing_ok=True)
        partial.touch(mode=0o600)
        res = subprocess.run(argv, capture_output=True, text=True, env=_env(settings), check=False)  # noqa: S603
        conn.rollback()  # the snapshot lives until pg_dump is done with it
    if res.returncode != 0:
        partial.unlink(missing_ok=True)
        raise ProcessError(f"pg_dump failed (exit {res.returncode}): {res.stderr[-2000:]}")
    partial.rename(path)
    manifest = manifest_path(path)
    manifest.write_text(
        json.dumps({"taken_at": datetime.now(UTC).isoformat(), "schema": schema,
                    "database": settings.db_name, "counts": counts}, indent=1) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    return BackupResult(path, manifest, counts, path.stat().st_size)


@dataclass(frozen=True)
class RestoreResult:
    counts: dict[str, int]
    expected: dict[str, int] | None  # from the manifest; None without one

    @property
    def mismatches(self) -> dict[str, tuple[int | None, int | None]]:
        if self.expected is None:
            return {}
        return {
            t: (self.expected.get(t), self.counts.get(t))
            for t in sorted(set(self.expected) | set(self.counts))
            if self.expected.get(t) != self.counts.get(t)
        }


def restore(settings: StackSettings, path: Path, *, clean: bool = False) -> RestoreResult:
    """Restore a dump into the configured database, in one transaction (all or nothing).
    Refuses a database that already has application tables unless `clean`, which drops
    what the dump holds first."""
    if not path.is_file():
        raise ProcessError(f"no backup at {path}")
    meta = read_manifest(manifest_path(path))
    schema = meta.get("schema") if meta else None
    with psycopg.connect(settings.db_conninfo, autocommit=True) as conn:
        present = application_tables(conn)
        if present and not clean:
            raise ProcessError(
                f"{settings.db_name} on {settings.db_host}:{settings.db_port} already has "
                f"{len(present)} table(s) ({', '.join(present[:3])}, ...): restore into an "
                "empty database, or pass --clean to replace what the backup holds"
            )
        timescale = conn.execute(
            "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
        if timescale:  # hypertables' catalog rows must go in with the triggers off
            conn.execute("SELECT timescaledb_pre_restore()")
    argv = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
            "--single-transaction", *_connection_args(settings)]  # fmt: skip
    if clean:
        argv += ["--clean", "--if-exists"]
    res = subprocess.run([*argv, str(path)], capture_output=True, text=True,  # noqa: S603
                         env=_env(settings), check=False)  # fmt: skip
    with psycopg.connect(settings.db_conninfo, autocommit=True) as conn:
        if timescale:
            conn.execute("SELECT timescaledb_post_restore()")
        if res.returncode != 0:
            raise ProcessError(f"pg_restore failed (exit {res.returncode}): {res.stderr[-2000:]}")
        counts = table_counts(conn, schema)
    return RestoreResult(counts, None if meta is None else meta["counts"])


def read_manifest(manifest: Path) -> dict[str, Any] | None:
    """The manifest beside a dump; None without one; a clear error for a damaged one
    (checking counts against a guess would be worse than not checking)."""
    if not manifest.is_file():
        return None
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        counts = meta["counts"]
        schema = meta.get("schema")
        if not isinstance(counts, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in counts.items()
        ):
            raise TypeError("counts must map table names to integers")
        if schema is not None and not isinstance(schema, str):
            raise TypeError("schema must be a name or null")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ProcessError(
            f"{manifest} is damaged ({type(exc).__name__}: {exc}); move it aside to "
            "restore without the count check"
        ) from exc
    return {"schema": schema, "counts": counts}


def application_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(_TABLES, (list(_SYSTEM_SCHEMAS), None, None)).fetchall()
    return [f"{nsp}.{rel}" for nsp, rel in rows]
