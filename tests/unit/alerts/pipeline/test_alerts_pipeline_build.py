"""The worker's AlertService runs the path `build_alert_path` builds, the one
bench/alert_quality.py measures: if the service built its own, the bench would measure
something else."""

from __future__ import annotations

from typing import Any

import pytest

import alerts.service
from alerts.pipeline import AlertPath, build_alert_path
from alerts.rules import AreaInfo
from alerts.settings import AlertSettings

AREAS = {"POI009": AreaInfo("POI009", "광화문·덕수궁", "Gwanghwamun", "종로구")}


def test_the_service_runs_the_path_the_bench_measures(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[AlertPath] = []

    def spy(*args: Any, **kw: Any) -> AlertPath:
        path = build_alert_path(*args, **kw)
        built.append(path)
        return path

    monkeypatch.setattr(alerts.service, "build_alert_path", spy)
    service = alerts.service.AlertService("postgresql://unused", AREAS, AlertSettings())
    assert built == [service.path]
    assert service.engine is service.path.engine
    assert service.batcher is service.path.group.batcher
    assert service.limiter is service.path.rate_limit.limiter


def test_the_built_path_carries_the_deployment_settings() -> None:
    settings = AlertSettings(stage_hold_s=5, startup_grace_s=42, feed_outage_min_areas=7)
    path = build_alert_path(settings, AREAS)
    rules = path.engine.policy.defaults
    assert rules.stage.hold_s == 5
    assert path.grace.grace_s == 42
    assert path.feeds.min_areas == 7
    assert path.rate_limit.limiter.max_messages == settings.rate_limit_messages
