"""`citypulse db backup` and `citypulse db restore` (infra/db/backup.py does the work)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from citypulse.config import StackSettings
from infra.db import backup as db_backup


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _database_error(settings: StackSettings, exc: psycopg.Error) -> int:
    where = f"{settings.db_name} on {settings.db_host}:{settings.db_port}"
    sys.stderr.write(f"citypulse: database {where}: {str(exc).strip()}\n")
    return 2


def add_arguments(db: argparse.ArgumentParser) -> None:
    db.add_argument(
        "--file",
        type=Path,
        default=None,
        help="backup: where to write (default var/backups/<db>-<UTC time>.dump); "
        "restore: the dump to restore (required)",
    )
    db.add_argument(
        "--clean",
        action="store_true",
        help="restore: replace what the backup holds in a database that has tables",
    )


def run_backup(args: argparse.Namespace, settings: StackSettings) -> int:
    path = args.file or db_backup.default_path(settings, datetime.now(UTC))
    try:
        result = db_backup.backup(settings, path)
    except psycopg.Error as exc:
        return _database_error(settings, exc)
    rows = sum(result.counts.values())
    _out(f"backup {result.path} ({result.bytes:,} bytes): {len(result.counts)} tables, "
         f"{rows:,} rows; counts in {result.manifest}")  # fmt: skip
    return 0


def run_restore(args: argparse.Namespace, settings: StackSettings) -> int:
    if args.file is None:
        sys.stderr.write("citypulse: db restore needs --file PATH\n")
        return 2
    try:
        result = db_backup.restore(settings, args.file, clean=args.clean)
    except psycopg.Error as exc:
        return _database_error(settings, exc)
    target = f"{settings.db_name} on {settings.db_host}:{settings.db_port}"
    _out(f"restored {args.file} into {target}: {len(result.counts)} tables, "
         f"{sum(result.counts.values()):,} rows")  # fmt: skip
    if result.expected is None:
        _out("no manifest beside the dump: row counts not checked")
        return 0
    for table, (expected, got) in result.mismatches.items():
        _out(f"MISMATCH {table}: backup {expected}, restored {got}")
    if result.mismatches:
        return 1
    _out("row counts equal the backup's in every table")
    return 0
