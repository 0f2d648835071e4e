"""The pure parts of `citypulse db backup` / `restore`: names, the count check, the
command line's refusals."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from citypulse.cli.main import main
from citypulse.config import StackSettings
from citypulse.processes import ProcessError
from infra.db.backup import RestoreResult, default_path, manifest_path, read_manifest


def test_default_path_is_utc_and_sorts_by_time(tmp_path: Path) -> None:
    settings = StackSettings(var_dir=tmp_path)
    kst = timezone(timedelta(hours=9))
    path = default_path(settings, datetime(2026, 12, 2, 9, 30, 5, tzinfo=kst))
    assert path == tmp_path / "backups" / "citypulse-20261202T003005Z.dump"
    assert manifest_path(path).name == "citypulse-20261202T003005Z.dump.json"


@pytest.mark.parametrize(
    ("expected", "counts", "mismatches"),
    [
        ({"s.a": 3, "s.b": 0}, {"s.a": 3, "s.b": 0}, {}),
        ({"s.a": 3}, {"s.a": 2}, {"s.a": (3, 2)}),
        ({"s.a": 3}, {"s.a": 3, "s.extra": 1}, {"s.extra": (None, 1)}),
        ({"s.a": 3, "s.gone": 5}, {"s.a": 3}, {"s.gone": (5, None)}),
        (None, {"s.a": 3}, {}),  # no manifest: nothing to compare
    ],
)
def test_restore_compares_every_table(
    expected: dict[str, int] | None,
    counts: dict[str, int],
    mismatches: dict[str, tuple[int | None, int | None]],
) -> None:
    assert RestoreResult(counts, expected).mismatches == mismatches


def test_restore_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "restore"]) == 2
    assert "--file" in capsys.readouterr().err


def test_restore_refuses_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "restore", "--file", str(tmp_path / "none.dump")]) == 2
    assert "no backup at" in capsys.readouterr().err


def test_backup_without_a_database_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITYPULSE_DB_PORT", "1")  # nothing listens there
    assert main(["db", "backup", "--file", str(tmp_path / "x.dump")]) == 2
    assert "citypulse on 127.0.0.1:1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no half-written dump left behind


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"schema": "s"}',
        '{"schema": "s", "counts": [1, 2]}',
        '{"schema": "s", "counts": {"s.a": "3"}}',
        '{"schema": 5, "counts": {"s.a": 3}}',
    ],
)
def test_a_damaged_manifest_is_refused_not_guessed(tmp_path: Path, text: str) -> None:
    manifest = tmp_path / "x.dump.json"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(ProcessError, match="damaged"):
        read_manifest(manifest)


def test_manifest_read(tmp_path: Path) -> None:
    manifest = tmp_path / "x.dump.json"
    assert read_manifest(manifest) is None
    manifest.write_text('{"schema": null, "counts": {"public.a": 3}, "x": 1}', encoding="utf-8")
    assert read_manifest(manifest) == {"schema": None, "counts": {"public.a": 3}}
