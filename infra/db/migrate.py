"""Versioned SQL migrations, recorded in `schema_migrations`; re-running is a no-op.

A migration is `NNNN_name.sql`, or a pair `NNNN_name.timescaledb.sql` /
`NNNN_name.postgresql.sql` when the two backends differ. Migrations use unqualified names
and run with `search_path` set to the target schema, so each test can own a schema.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg import sql

Backend = Literal["timescaledb", "postgresql"]
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|postgresql))?\.sql$")
_LOCK_ID = 0x43_50_4D_47  # "CPMG": one migrator per database at a time


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql_text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql_text.encode()).hexdigest()[:16]


def detect_backend(conn: psycopg.Connection[object]) -> Backend:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return "timescaledb" if row else "postgresql"


def load_migrations(backend: Backend) -> list[Migration]:
    folder = resources.files("infra.db").joinpath("migrations")
    chosen: dict[int, Migration] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        m = _NAME.match(entry.name)
        if m is None:
            continue
        version, name, variant = int(m.group(1)), m.group(2), m.group(3)
        if variant is not None and variant != backend:
            continue
        if version in chosen:
            raise MigrationError(f"two migrations for version {version}: {entry.name}")
        chosen[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [chosen[v] for v in sorted(chosen)]


def migrate(conninfo: str, schema: str = "public") -> list[Migration]:
    """Apply pending migrations to `schema`; return the ones applied."""
    applied: list[Migration] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY, name text NOT NULL, backend text NOT NULL,
                       checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            backend = detect_backend(conn)
            done = {
                int(r[0]): str(r[1])
                for r in conn.execute("SELECT version, checksum FROM schema_migrations")
            }
            for mig in load_migrations(backend):
                if mig.version in done:
                    if done[mig.version] != mig.checksum:
                        raise MigrationError(
                            f"migration {mig.version}_{mig.name} changed after it was applied; "
                            "add a new migration instead of editing an applied one"
                        )
                    continue
                with conn.transaction():
                    conn.execute(mig.sql_text.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name, backend, checksum) "
                        "VALUES (%s, %s, %s, %s)",
                        (mig.version, mig.name, backend, mig.checksum),
                    )
                applied.append(mig)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return applied


def drop_schema(conninfo: str, schema: str) -> None:
    if schema == "public":
        raise MigrationError("refusing to drop the public schema")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


async def detect_backend_async(conn: psycopg.AsyncConnection[Any]) -> Backend:
    cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    return "timescaledb" if await cur.fetchone() else "postgresql"
