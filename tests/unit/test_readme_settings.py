"""README's configuration tables against the settings tree (citypulse/settings.py): every
variable a section reads is in a table, every variable a table names is read."""

from __future__ import annotations

import re

import pytest

from citypulse.config import REPO_ROOT
from citypulse.settings import SECTIONS, Settings, env_name


def _table_variables() -> set[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {
        name
        for row in rows
        for name in re.findall(r"`(CITYPULSE_[A-Z0-9_*]*)`", row.split(" | ")[0])
    }


def _tree_variables() -> set[str]:
    return {env_name(s, f) for s, cls in SECTIONS.items() for f in cls.model_fields}


def test_every_setting_is_in_the_readme() -> None:
    assert sorted(_tree_variables() - _table_variables()) == []


def test_every_readme_variable_is_a_setting() -> None:
    assert sorted(_table_variables() - _tree_variables()) == []


def test_every_section_is_checked() -> None:
    assert set(SECTIONS) == set(Settings.model_fields)
    some = {"CITYPULSE_DB_PORT", "CITYPULSE_ALERT_TICK_S", "CITYPULSE_SMS_SMPP_ENQUIRE_LINK_S",
            "CITYPULSE_KANNEL_SMSC_PORT", "CITYPULSE_SEOUL_API_KEY"}  # fmt: skip
    assert some <= _tree_variables()


@pytest.mark.parametrize(
    ("variable", "value", "section", "field"),
    [
        ("CITYPULSE_BATCH_MAX_EVENTS", "123", "worker", "batch_max_events"),
        ("CITYPULSE_ALERT_TICK_S", "3", "alerts", "tick_s"),
        ("CITYPULSE_DISPATCH_LEASE_S", "4", "dispatch", "lease_s"),
        ("CITYPULSE_SMS_SMPP_ENQUIRE_LINK_S", "5", "sms", "smpp_enquire_link_interval_s"),
        ("CITYPULSE_WS_HEARTBEAT_S", "6", "api", "ws_heartbeat_s"),
        ("CITYPULSE_KANNEL_SMSC_PORT", "2345", "kannel", "smsc_port"),
        ("CITYPULSE_SEOUL_PERIOD_S", "7", "poller", "period_s"),
        ("CITYPULSE_DB_PORT", "2346", "stack", "db_port"),
    ],
)
def test_each_variable_reaches_its_section(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, section: str, field: str
) -> None:
    assert env_name(section, field) == variable
    monkeypatch.setenv(variable, value)
    assert float(getattr(getattr(Settings.from_env(), section), field)) == float(value)


# Every secret set as production requires; each test takes one away or spoils it.
PRODUCTION = {
    "CITYPULSE_ENV": "production",
    "CITYPULSE_DB_PASSWORD": "db-secret",
    "CITYPULSE_JWT_SECRET": "x" * 40,
    "CITYPULSE_ADMIN_PASSWORD": "a-secret",
    "CITYPULSE_OPERATOR_PASSWORD": "o-secret",
    "CITYPULSE_KANNEL_SENDSMS_PASSWORD": "s-secret",
    "CITYPULSE_KANNEL_ADMIN_PASSWORD": "k-secret",
    "CITYPULSE_SMS_DLR_SECRET": "a-production-secret-of-32-chars!",
    "CITYPULSE_SMS_ACK_SECRET": "another-production-secret-32-chr",
}


@pytest.mark.parametrize(
    "variable",
    [
        "CITYPULSE_JWT_SECRET",
        "CITYPULSE_ADMIN_PASSWORD",
        "CITYPULSE_KANNEL_SENDSMS_PASSWORD",
        "CITYPULSE_SMS_DLR_SECRET",
        "CITYPULSE_SMS_ACK_SECRET",
    ],
)
def test_production_refuses_each_development_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().stack.env == "production"
    monkeypatch.delenv(variable)
    with pytest.raises(ValueError, match=variable):
        Settings.from_env()


@pytest.mark.parametrize("variable", ["CITYPULSE_SMS_DLR_SECRET", "CITYPULSE_SMS_ACK_SECRET"])
def test_production_refuses_a_short_signing_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A delivery-report or acknowledgement-link signature is only as strong as its key."""
    for name, value in {**PRODUCTION, variable: "short"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=variable):
        Settings.from_env()
