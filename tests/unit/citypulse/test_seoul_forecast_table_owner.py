"""The seoul_forecasts table has one owner: citypulse/seoul_forecasts.py holds all its SQL,
the worker's writes and the dashboard's reads alike."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("citypulse", "streams", "sensors", "alerts", "dashboard_api", "infra")
OWNER = "citypulse/seoul_forecasts.py"


def sql_users(table: str, root: Path = ROOT) -> set[str]:
    pattern = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+{table}\b(?!\.)")
    return {
        path.relative_to(root).as_posix()
        for package in PACKAGES
        if (root / package).is_dir()
        for path in (root / package).rglob("*.py")
        if pattern.search(path.read_text(encoding="utf-8"))
    }


def test_only_the_owner_module_holds_sql_for_seoul_forecasts() -> None:
    assert sql_users("seoul_forecasts") == {OWNER}


def test_the_scan_finds_sql_written_in_another_package(tmp_path: Path) -> None:
    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "x.py").write_text('Q = "UPDATE seoul_forecasts SET points = %s"\n')
    (tmp_path / "dashboard_api").mkdir()
    (tmp_path / "dashboard_api" / "y.py").write_text('Q = "SELECT 1 FROM seoul_forecasts_old"\n')
    assert sql_users("seoul_forecasts", tmp_path) == {"streams/x.py"}
