"""The engine on a real 31-hour series: 강남역 (POI014) polled every ~5 minutes, 2023-07."""

from __future__ import annotations

import itertools
import json
from datetime import datetime
from pathlib import Path

import pytest

from alerts.rules import AlertEngine, AlertPolicy, NoChange, RuleOverride, StageRule
from citypulse.domain.area_state import AreaState
from citypulse.domain.korea_time import KST
from citypulse.domain.stages import StageThresholds, stage_for_density
from sensors.registry import hotspots_by_code

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "seoul"


def gangnam_states() -> list[AreaState]:
    path = DATA / "population_5min_113" / "ppldata.json"
    if not path.exists():
        pytest.skip(f"real Seoul data not found at {path}")
    series = json.loads(path.read_text(encoding="utf-8"))["강남역"]
    walkable = hotspots_by_code()["POI014"].walkable_m2
    states = []
    for seq, (stamp, v) in enumerate(sorted(series.items())):
        people = (int(v["PPL_MIN"]) + int(v["PPL_MAX"])) / 2
        states.append(
            AreaState(
                scope="area",
                area_code="POI014",
                as_of=datetime.fromisoformat(stamp).replace(tzinfo=KST),
                people=people,
                walkable_m2=walkable,
                density_per_m2=people / walkable,
                stage="normal",
                stage_ko="정상",
                seq=seq,
            )
        )
    return states


SCALED = StageThresholds(attention=0.3, caution=0.45, alert=0.52, serious=0.8)


@pytest.mark.parametrize(
    ("stage_rule", "expected"),
    [
        # Area-wide telecom counts over a large polygon never reach 주의 (2/m²): the
        # reason zone counters must be fused in. Max here is 0.57/m².
        (None, []),
        # Bounds and margin scaled to this area's own range (as an area override
        # would be). The raw stage changes 22 times over the 31 hours; the engine
        # gives one alert per busy day, opened at noon and over in the evening.
        (
            StageRule(SCALED, clear_margin_per_m2=0.05),
            [("Fire", "07-17 12:15", 2), ("Escalate", "07-17 13:38", 3),
             ("Deescalate", "07-17 20:03", 2), ("Resolve", "07-17 20:30", 2),
             ("Fire", "07-18 12:16", 2), ("Escalate", "07-18 13:42", 3),
             ("Deescalate", "07-18 17:16", 2), ("Escalate", "07-18 18:48", 3)],
        ),
    ],
)  # fmt: skip
def test_gangnam_station_series(
    stage_rule: StageRule | None, expected: list[tuple[str, str, int]]
) -> None:
    states = gangnam_states()
    assert len(states) == 344
    assert round(max(s.density_per_m2 for s in states), 3) == 0.574
    raw = [stage_for_density(s.density_per_m2, SCALED) for s in states]
    assert sum(a != b for a, b in itertools.pairwise(raw)) == 21  # 22 runs of one stage
    overrides = [] if stage_rule is None else [RuleOverride("POI014", stage=stage_rule)]
    eng = AlertEngine(policy=AlertPolicy.build(overrides=overrides))
    changes = [
        (type(d).__name__, d.reading.as_of.astimezone(KST).strftime("%m-%d %H:%M"), int(d.severity))
        for s in states
        for d in eng.evaluate(s, s.as_of)
        if not isinstance(d, NoChange)
    ]
    assert changes == expected
