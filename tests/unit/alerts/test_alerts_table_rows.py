"""An AlertRecord survives the trip through its row (alerts/tables/alert_rows.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from alerts.lifecycle import AlertRecord, acknowledge, open_alert
from alerts.rules import AlertSubject, Fire, Mute, Reading, RuleKind
from alerts.tables.alert_rows import alert_db_id, alert_id_text, record_from_row, record_values
from citypulse.domain.stages import Stage
from tests.unit.alerts.alerts_factories import T0

ZONE = AlertSubject("POI004/Z2", "POI004", "Z2", "용산구", "이태원 Z2", "Itaewon Z2")
AREA = AlertSubject("POI009", "POI009", None, "마포구", "홍대입구역", "Hongdae")


def _record(subject: AlertSubject, muted: Mute | None) -> AlertRecord:
    reading = Reading(T0, 3.4, 1700.0, 0.12, 5.2, 20)
    fire = Fire(
        dedup_key=f"{subject.key}:forecast", rule=RuleKind.FORECAST, subject=subject,
        severity=Stage.ALERT, reading=reading, reason="r", decided_at=T0, muted=muted,
        profile="festival", extra_groups=("staff",),
    )  # fmt: skip
    return open_alert(fire, "A1042", T0).record


def _as_stored(values: dict[str, object]) -> dict[str, object]:
    """What the database gives back: JSON columns parsed, the extra `details` column."""
    row = dict(values)
    row["reading"] = json.loads(str(row["reading"]))
    row["muted"] = json.loads(str(row["muted"])) if row["muted"] else None
    row["details"] = {}
    return row


@pytest.mark.parametrize(
    "record",
    [
        _record(AREA, None),
        _record(ZONE, Mute("silence", "7", "박팀장: parade")),
        acknowledge(_record(AREA, None), "김관제", T0 + timedelta(minutes=3), "on my way").record,
    ],
)
def test_a_record_comes_back_from_its_row_unchanged(record: AlertRecord) -> None:
    assert record_from_row(_as_stored(record_values(record))) == record


def test_alert_ids_read_as_people_quote_them() -> None:
    assert (alert_id_text(1042), alert_db_id("A1042")) == ("A1042", 1042)
    row = record_values(replace(_record(AREA, None), alert_id="A7"))
    assert (row["id"], row["zone_id"], row["stage"]) == (7, "", "alert")
