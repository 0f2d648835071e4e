"""The running worker labels comfort with the calibration `citypulse calibrate` fitted on
the stored history, and follows a refit, without a restart.

A recorded Seoul log (two areas of the hourly log, June 2026) is loaded with
`citypulse backfill`, calibrated, and a live reading of one area then goes through Kafka
with no label of Seoul's: its comfort level can only come from the calibration.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from citypulse.config import REPO_ROOT, StackSettings
from citypulse.domain.comfort import COMFORT_LEVELS
from citypulse.domain.korea_time import KST
from sensors.events import PopulationEstimate
from sensors.publisher import KafkaEventPublisher
from streams.calibration import Calibration
from streams.calibration_store import CalibrationStore
from tests.integration.support import WorkerFactory, read_topic, run_cli, topic_names, wait_for

pytestmark = pytest.mark.integration
LOG = REPO_ROOT / "tests" / "fixtures" / "streams" / "hourly_log_two_areas.csv"
AREA, AREA_NAME = "POI009", "광화문·덕수궁"
OTHER = "POI005"  # 잠실 관광특구, the log's other area
FAST = {"CITYPULSE_CALIBRATION_CHECK_S": "0.5", "CITYPULSE_STATE_REFRESH_S": "1.0"}
# A later recording where the four labels sit at these counts, every hour of four days.
LATER_LADDER = [(10_000, "여유"), (20_000, "보통"), (30_000, "약간 붐빔"), (40_000, "붐빔")]
HEADER = "수집시간,지역명,API지역명,혼잡도,혼잡도메시지,최소인구,최대인구,업데이트시간,중앙추정인구"


def _later_log(path: Path) -> Path:
    start = datetime(2026, 7, 1, 0, 20)
    lines = [HEADER]
    for hour in range(4 * 24):
        people, label = LATER_LADDER[hour % 4]
        at = start + timedelta(hours=hour)
        stamp = at.strftime("%Y-%m-%d %H:%M")
        lines.append(f"{stamp}:00,{AREA_NAME},{AREA_NAME},{label},,{people - 500}.0,"
                     f"{people + 500}.0,{stamp},{people}.0")  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _kst_day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).astimezone(KST).date()


def _calibrate(settings: StackSettings, *args: str) -> dict[str, Any]:
    done = run_cli(settings, "calibrate", *args)
    assert done.returncode == 0, done.stderr
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def _backfill(settings: StackSettings, path: Path) -> None:
    done = run_cli(settings, "backfill", str(path), timeout=300)
    assert done.returncode == 0, done.stderr


def _state_from(settings: StackSettings, source: str) -> dict[str, Any]:
    """The newest published state of AREA once one says it came from `source`."""
    topic = topic_names(settings)["area-state.v1"]

    def states(ms: list[Any]) -> list[dict[str, Any]]:
        return [json.loads(m.value) for m in ms if m.key.decode() == AREA]

    msgs = read_topic(
        settings.kafka_bootstrap,
        topic,
        lambda ms: any(s.get("comfort_source") == source for s in states(ms)),
        timeout_s=90,
    )
    from_source = [s for s in states(msgs) if s.get("comfort_source") == source]
    assert from_source, f"no state of {AREA} from {source}: {states(msgs)[-3:]}"
    return from_source[-1]


def _loaded(settings: StackSettings, fit_id: int) -> Calibration:
    cal = CalibrationStore(settings.db_conninfo).latest()
    assert cal is not None and cal.fit_id == fit_id
    return cal


def _above_normal_alert(
    settings: StackSettings, db: psycopg.Connection[Any], model: Calibration, now: datetime
) -> None:
    """Another area at six times its calibrated normal (and 2.6 times the most it has
    held around this hour) for eleven minutes: the worker's alert engine opens one
    above-normal alert at 심각, though its density is far below any density stage."""
    normal = model.normal(OTHER, now)
    assert normal is not None and normal.mean >= 500
    people = round(max(6 * normal.mean, 2.6 * normal.high))
    pub = KafkaEventPublisher(settings.kafka_bootstrap, topic_names(settings)["city-events.v1"])
    for i, ago in enumerate((660, 330, 0)):
        t = now - timedelta(seconds=ago)
        pub.publish(PopulationEstimate(event_id=f"busy-{i}", source="test", event_time=t,
                                       ingest_time=t, area_code=OTHER, people_min=people,
                                       people_max=people))  # fmt: skip
        pub.flush()
        # One state per reading: the engine holds in event time, state by state.
        _wait_state(settings, OTHER, t)
    pub.close()

    def opened() -> bool:
        row = db.execute(
            "SELECT stage FROM alerts WHERE dedup_key = %s AND status = 'open'",
            (f"{OTHER}:above_normal",),
        ).fetchone()
        return row is not None and row[0] == "serious"

    wait_for(opened, 60, "an open above-normal alert at 심각")
    assert db.execute(
        "SELECT count(*) FROM alerts WHERE dedup_key = %s", (f"{OTHER}:stage",)
    ).fetchone() == (0,)


def _wait_state(settings: StackSettings, area: str, as_of: datetime) -> None:
    topic = topic_names(settings)["area-state.v1"]

    def seen(ms: list[Any]) -> bool:
        return any(
            m.key.decode() == area and datetime.fromisoformat(json.loads(m.value)["as_of"]) >= as_of
            for m in ms
        )

    assert seen(read_topic(settings.kafka_bootstrap, topic, seen, timeout_s=60))


def test_the_worker_labels_comfort_with_the_calibration_fitted_on_its_history(
    isolated: StackSettings,
    worker_factory: WorkerFactory,
    tmp_path: Path,
    db: psycopg.Connection[Any],
) -> None:
    _backfill(isolated, LOG)
    first = _calibrate(isolated, "--min-days", "3")
    assert first["rows"] == 308 and first["areas_calibrated"] == 2
    assert _kst_day(first["span_from"]) == date(2026, 6, 4) and first["holdout"]["rows"] > 0
    model1 = _loaded(isolated, first["id"])

    now = datetime.now(UTC).replace(microsecond=0)
    at = now.astimezone(KST)
    # A count whose label the later recording will change, for the hour the test runs in.
    later_cut = {p: label for p, label in LATER_LADDER}
    people = next(
        p + 2_000
        for p in (10_000, 20_000, 30_000)
        if model1.comfort.label(AREA, p + 2_000, at) != later_cut[p]
    )
    expected1 = model1.comfort.label(AREA, people, at)
    assert expected1 in COMFORT_LEVELS

    worker_factory(**FAST)
    pub = KafkaEventPublisher(isolated.kafka_bootstrap, topic_names(isolated)["city-events.v1"])
    pub.publish(PopulationEstimate(event_id="live-1", source="test", event_time=now,
                                   ingest_time=now, area_code=AREA, people_min=people,
                                   people_max=people))  # fmt: skip
    pub.close()

    state1 = _state_from(isolated, f"calibration:{first['id']}")
    _above_normal_alert(isolated, db, model1, now)
    assert state1["comfort_level"] == expected1
    normal = model1.normal(AREA, now)
    assert normal is not None
    assert state1["normal_people"] == pytest.approx(normal.mean)
    assert state1["normal_ratio"] == pytest.approx(people / normal.mean)

    # A later recording, calibrated on its own days: the running worker follows the refit.
    _backfill(isolated, _later_log(tmp_path / "later.csv"))
    second = _calibrate(isolated, "--min-days", "3", "--lookback-days", "3.9")
    assert second["id"] > first["id"] and _kst_day(second["span_from"]) == date(2026, 7, 1)
    model2 = _loaded(isolated, second["id"])
    expected2 = model2.comfort.label(AREA, people, now)
    assert expected2 != expected1

    state2 = _state_from(isolated, f"calibration:{second['id']}")
    assert state2["comfort_level"] == expected2
    assert OTHER not in model2.calibrated  # no labelled history in the refit's span
