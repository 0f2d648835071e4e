"""Each alerting table has one module that holds its SQL (alerts/tables/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
OWNERS = {
    "alerts": "alerts/tables/alerts.py",
    "alert_audit": "alerts/tables/alerts.py",
    "alert_notifications": "alerts/tables/notifications.py",
    "sms_outbox": "alerts/tables/outbox.py",
    "delivery_reports": "alerts/tables/outbox.py",
    "recipients": "alerts/tables/recipients.py",
    "silences": "alerts/tables/silences.py",
    "phone_ack_link_uses": "alerts/tables/phone_ack.py",
    "playbook_actions": "alerts/tables/playbooks.py",
    "playbook_ticks": "alerts/tables/playbooks.py",
}
# A message's detail names its recipient: a read-only join, kept with the outbox query.
JOINS = {("recipients", "alerts/tables/outbox.py")}
# The newest open alert texted to a number (a reply "1"): read-only, kept with the alerts.
JOINS |= {("sms_outbox", "alerts/tables/alerts.py")}


def _sql_users(table: str, root: Path = ROOT) -> set[str]:
    pattern = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+{table}\b(?!\.)")
    users = set()
    for package in ("alerts", "dashboard_api"):
        for path in (root / package).rglob("*.py"):
            if pattern.search(path.read_text(encoding="utf-8")):
                users.add(path.relative_to(root).as_posix())
    return users


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_only_the_owner_module_holds_sql_for_the_table(table: str) -> None:
    allowed = {OWNERS[table]} | {m for t, m in JOINS if t == table}
    users = _sql_users(table)
    assert OWNERS[table] in users, f"{OWNERS[table]} should hold {table}'s SQL"
    assert users <= allowed, f"SQL for {table} outside its owner: {sorted(users - allowed)}"


def test_the_scan_finds_sql_written_anywhere_in_the_packages(tmp_path: Path) -> None:
    (tmp_path / "dashboard_api" / "store").mkdir(parents=True)
    (tmp_path / "dashboard_api" / "store" / "x.py").write_text(
        'Q = "SELECT o.id FROM sms_outbox o JOIN alerts a ON a.id = o.alert_id"\n'
    )
    assert _sql_users("sms_outbox", tmp_path) == {"dashboard_api/store/x.py"}
    assert _sql_users("alerts", tmp_path) == {"dashboard_api/store/x.py"}
    assert _sql_users("recipients", tmp_path) == set()
