"""AreaState: the message on the compacted area-state topic, one per area and per zone.

It is the contract between the stream worker (which builds it), the alert engine and the
dashboard (which read it). Pure data; JSON on the wire.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from citypulse.domain.comfort import ComfortLabel
from citypulse.domain.stages import Stage, StageName

SourceKind = Literal["telecom", "zone_counter", "visitor_count"]


class SourceContribution(BaseModel):
    """One input behind a fused number: how much it weighed and how fresh it was."""

    model_config = ConfigDict(frozen=True)

    source: SourceKind
    people: float
    weight: Annotated[float, Field(ge=0, le=1)]
    age_s: Annotated[float, Field(ge=0)]
    stale: bool = False
    # False: the worker judged this input implausible (beyond packing, a jump no crowd
    # makes, far off its peers); it is shown but not counted.
    plausible: bool = True


class ForecastPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    horizon_min: int
    density_per_m2: float
    density_plausible: bool = True  # False above ~10/m²: a wrong area or double count
    stage: StageName
    # How far this key's earlier forecasts at this horizon were from what then happened:
    # an operator weighs a forecast by its record.
    mae_per_m2: float | None = None
    scored: int = 0


class AreaState(BaseModel):
    model_config = ConfigDict(frozen=True)

    v: Literal[1] = 1
    scope: Literal["area", "zone"]
    area_code: str
    zone_id: str | None = None
    as_of: AwareDatetime  # event time of the newest input behind this state
    people: float
    people_min: float | None = None
    people_max: float | None = None
    walkable_m2: float
    density_per_m2: float
    # False when the density itself cannot be true (above ~10/m²: a wrong area or a
    # double count, or no input is plausible): the stage is then held, never raised.
    density_plausible: bool = True
    # Why inputs or the density were judged implausible; any entry raises a data-quality
    # alert, never a crowd alert.
    implausible: tuple[str, ...] = ()
    stage: StageName
    stage_ko: str
    comfort_level: ComfortLabel | None = None
    # Which fit labelled the comfort level and shaped the forecast: "calibration:<id>", or
    # "uncalibrated" (too little history: Seoul's own label only). None for zones.
    comfort_source: str | None = None
    normal_people: float | None = None  # the area's usual count at this hour and day type
    normal_sd: float | None = None  # its spread over the days fitted on
    normal_ratio: float | None = None  # people / normal_people
    # The most it has held within an hour of this one on any day (a stadium on
    # game nights): a count it has held before is not unusual.
    normal_high: float | None = None
    trend_per_min: float | None = None  # persons/m² per minute
    # False until enough points over a long enough span since a start, an outage or a
    # change of sources: then no trend, no forecast, and no rule may use either.
    trend_ready: bool = True
    # How steadily it moves (Kendall's tau over the trend's window, -1..1): near 1 on a
    # steady climb, near 0 on noise. None while the trend is not ready.
    trend_agreement: float | None = None
    forecast: tuple[ForecastPoint, ...] = ()
    sources: tuple[SourceContribution, ...] = ()
    stale: bool = False  # a silent feed must never look calm
    # The sources this scope needs (telecom for an area, counters for a zone) that are
    # stale or have not reported at all: a feed silent since the start has no entry in
    # `sources`, and the alert about it must still name it.
    silent_sources: tuple[SourceKind, ...] = ()
    seq: int = 0  # per key, strictly increasing

    @property
    def key(self) -> str:
        return self.area_code if self.zone_id is None else f"{self.area_code}/{self.zone_id}"

    @property
    def stage_enum(self) -> Stage:
        return Stage.from_name(self.stage)


def stage_name(stage: Stage) -> StageName:
    return stage.wire_name
