"""The engine on states the worker flagged: implausible density or inputs, unready trends."""

from __future__ import annotations

from typing import Any

import pytest
from alerts_factories import at, make_state

from alerts.rules import AlertEngine, AreaInfo, Fire, NoChange
from citypulse.domain.stages import Stage

C, A, S = Stage.CAUTION, Stage.ALERT, Stage.SERIOUS
AREAS = {"POI009": AreaInfo("POI009", "광화문·덕수궁", "Gwanghwamun", "종로구")}
BAD = {"density_plausible": False, "implausible": ("beyond packing: 12/m² > 10/m²",)}
ODD_INPUT = {"implausible": ("off peers: zone_counter:c3 2500 people vs median 410",)}


def run(samples: list[tuple[float, float, dict[str, Any]]]) -> list[tuple[float, str, str, int]]:
    eng, out = AlertEngine(areas=AREAS), []
    for t, density, flags in samples:
        for d in eng.evaluate(make_state(t, density, **flags), at(t)):
            if not isinstance(d, NoChange):
                out.append((t, type(d).__name__, d.rule.value, int(d.severity)))
    return out


def every(step: float, start: float, end: float, density: float, **flags: Any) -> list[Any]:
    return [(float(t), density, flags) for t in range(int(start), int(end), int(step))]


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        # an impossible density from the start: no crowd alert at all, a data-quality one
        (every(60, 0, 900, 12.0, **BAD), [(0, "Fire", "data_quality", C)]),
        (every(60, 0, 900, 1e26, **BAD), [(0, "Fire", "data_quality", C)]),
        # 주의 open, then 12/m² for 10 minutes: no escalation, no resolve; sane again: the
        # data-quality alert clears after its 600 s hold, the stage alert stays 주의
        (
            every(60, 0, 120, 2.5) + every(60, 120, 720, 12.0, **BAD) + every(60, 720, 1500, 2.5),
            [(60, "Fire", "stage", C), (120, "Fire", "data_quality", C),
             (1320, "Resolve", "data_quality", C)],
        ),
        # 심각 open and the numbers go impossible (a crush beyond what counters can
        # count): the alert stays open, nothing resolves it
        (
            every(60, 0, 120, 6.0) + every(60, 120, 3000, 14.0, **BAD),
            [(60, "Fire", "stage", S), (120, "Fire", "data_quality", C)],
        ),
        # the density is from plausible inputs and one input is odd: the crowd rules act
        # on the density, the odd input raises the data-quality alert
        (
            every(60, 0, 180, 3.2, **ODD_INPUT),
            [(0, "Fire", "data_quality", C), (60, "Fire", "stage", A)],
        ),
    ],
)  # fmt: skip
def test_implausible_states_never_raise_or_escalate_a_crowd_alert(
    samples: list[tuple[float, float, dict[str, Any]]], expected: list[tuple[object, ...]]
) -> None:
    assert run(samples) == expected


def test_the_data_quality_alert_carries_the_workers_reasons() -> None:
    eng = AlertEngine(areas=AREAS)
    (fire,) = eng.evaluate(make_state(0, 12.0, **BAD), at(0))
    assert isinstance(fire, Fire) and fire.dedup_key == "POI009:data_quality"
    assert fire.reason == "implausible input: beyond packing: 12/m² > 10/m²"


TREND = {"trend": 0.5, "forecast": ((10, 6.0), (30, 8.0))}


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        (False, []),
        # The rate of rise would fire at 120 s; the forecast 경계 open since 60 s covers it.
        (True, [(60, "Fire", "forecast", A)]),
    ],
)
def test_rules_ignore_a_trend_that_is_not_ready(
    ready: bool, expected: list[tuple[object, ...]]
) -> None:
    samples = every(60, 0, 600, 2.8, trend_ready=ready, **TREND)
    assert [c for c in run(samples) if c[2] != "stage"] == expected
