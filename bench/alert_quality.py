"""Alert quality as users feel it, on recorded Seoul days (issue 14).

The hourly 121-area log (KST) is replayed day by day through the worker's live state and
the alert path the worker's AlertService builds (bench/alert_scenarios.py). Before each
scored day the calibration is refitted on every earlier day with the service's own fit,
as the worker's daily refit does. The log kept one sample an hour; Seoul updates every
5 minutes, so the replay draws straight lines between samples at that cadence.

- uninjected days: crowd alerts per area per day, by stage (false alarms: nothing known
  happened on these days);
- area surges: an area climbing to 2x, 3x, 5x its normal over 30/60/120 minutes on a
  recorded evening; detected? minutes from reaching 3x (2x) to the first alert;
- zone ramps: 1 -> 7 persons/m² over 30/60/120 minutes (two noisy counters); minutes
  between the warning of 심각 (forecast rule) and the crossing of 5/m²;
- cold starts (the worker started mid-evening; counters appearing at a busy level),
  a telecom outage of every area for 45 minutes, a zone counter outage and a counter
  dropping out of a two-counter zone: crowd alerts raised (technical ones apart);
- comfort agreement and kappa with daily refits: bench/comfort_agreement.py's figure;
- SMS per recipient per day on the uninjected days: every change through the service's
  lifecycle, grouping, fan-out and rate limit to a Seoul-like directory (bench/alert_sms.py;
  operators acknowledge each alert after 4 minutes);
- the 2023 5-minute 113-area log as recorded (real 5-minute cadence, no drawing), with the
  calibration fitted on the whole hourly log: false alerts, SMS, and 3x/5x surges on its
  Monday evening (`five_minute_log` in the JSON).

    .venv/bin/python bench/alert_quality.py [--quick] [--data DIR]

Prints a table, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alerts.recipients import RecipientDirectory  # noqa: E402
from bench.alert_scenarios import (  # noqa: E402
    AreaSurge,
    RunResult,
    Series,
    ZoneCase,
    expected_at,
    first_at_ratio,
    inject_surge,
    interpolate,
    load_calendar,
    ramp_lead,
    replay,
    telecom_events,
    zone_events,
    zone_ramp,
)
from bench.alert_sms import seoul_directory, sms_figures  # noqa: E402
from citypulse.domain.korea_time import KST  # noqa: E402
from citypulse.domain.stages import Stage  # noqa: E402
from citypulse.domain.thresholds import ThresholdBook  # noqa: E402
from sensors.adapters.seoul_logs import iter_five_minute_log  # noqa: E402
from sensors.events import PopulationEstimate  # noqa: E402
from sensors.registry import hotspots_by_code  # noqa: E402
from sensors.replay import load_recorded_logs  # noqa: E402
from streams.calibration import (  # noqa: E402
    UNCALIBRATED,
    Calibration,
    CalibrationPolicy,
    fit_calibration,
)
from streams.crowd.comfort import LabelledCount  # noqa: E402

DATA = ROOT / ".." / "shared" / "data" / "seoul"  # --data: elsewhere (e.g. a worktree)
HOURLY = "citydata_hourly_121/seoul_population_log.csv"
# The 2023 5-minute log of 113 areas (about 31 hours; no labels): real 5-minute cadence.
FIVE_MIN = "population_5min_113"
# Declared crowds (event days with a venue's capacity) an operator would have entered,
# with their sources; not read off the results (docs/alerts.md, "Declared crowds").
CALENDAR = ROOT / "bench" / "event_calendar.json"
STEP = timedelta(minutes=5)
# The "hourly" log kept about 7 samples a day (the collector's cron often skipped).
MAX_GAP = timedelta(hours=6)
WARMUP_DAYS = 7
RAMPS = (30, 60, 120)
FACTORS = (2.0, 3.0, 5.0)
SURGE_AT = time(18, 0)  # evening, when Itaewon happened


def kst_day(t: datetime) -> date:
    return t.astimezone(KST).date()


def load(data: Path) -> tuple[dict[str, list[tuple[datetime, float]]], list[LabelledCount]]:
    events, _rejects = load_recorded_logs(hourly_csv=data / HOURLY)
    points: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    labelled: list[LabelledCount] = []
    for e in events:
        if not isinstance(e, PopulationEstimate):
            continue
        points[e.area_code].append((e.event_time, e.people))
        if e.congestion_level is not None:
            labelled.append(LabelledCount(e.area_code, e.event_time, e.people, e.congestion_level))
    return dict(points), labelled


def day_series(
    points: list[tuple[datetime, float]], day: date, cal: Calibration, area: str, m2: float
) -> Series:
    """The day's 5-minute series, drawn from the recorded samples around it along the
    area's usual shape as the day's calibration knows it."""
    lo = datetime.combine(day, time(), KST) - MAX_GAP
    hi = lo + timedelta(days=1) + 2 * MAX_GAP
    near = [(t, p) for t, p in points if lo <= t <= hi]
    start, end = lo + MAX_GAP, hi - MAX_GAP

    def usual(t: datetime) -> float:
        shape = cal.shape(area, t, m2)
        return shape.at(t) * m2 if shape is not None else 0.0

    return [(t, p) for t, p in interpolate(near, STEP, MAX_GAP, usual) if start <= t < end]


def normal_at(
    cal: Calibration, area: str, series: Series, book: ThresholdBook | None = None
) -> dict[datetime, float]:
    """What the area is expected to hold at each time: its calibrated normal, or a larger
    declared crowd (bench/event_calendar.json) while one is declared; surges scale it."""
    out = {}
    for t, _ in series:
        n = cal.normal(area, t)
        out[t] = max(n.mean if n is not None else 0.0, expected_at(book, area, t))
    return out


def run_day(
    points: dict[str, list[tuple[datetime, float]]],
    day: date,
    cal: Calibration,
    areas: list[str],
    hotspots: dict[str, Any],
    outage: tuple[time, time] | None = None,
    start_at: time = time(0, 0),
    directory: RecipientDirectory | None = None,
    book: ThresholdBook | None = None,
) -> RunResult:
    start = datetime.combine(day, start_at, KST)
    events = []
    for area in areas:
        series = day_series(points[area], day, cal, area, hotspots[area].walkable_m2)
        if outage is not None:
            lo, hi = (datetime.combine(day, x, KST) for x in outage)
            series = [(t, p) for t, p in series if not lo <= t < hi]
        events += telecom_events(area, [(t, p) for t, p in series if t >= start])
    end = datetime.combine(day, time(), KST) + timedelta(days=1)
    return replay(
        events, start, end, {a: hotspots[a] for a in areas}, cal, tick=STEP, directory=directory,
        book=book,
    )  # fmt: skip


def load_five_minute(
    data: Path, max_areas: int | None = None
) -> dict[str, list[PopulationEstimate]]:
    """The 5-minute log's events per area, as `citypulse replay` reads them (2023 names
    mapped to today's areas through the registry's former names; areas off the list since
    are rejected there). `max_areas`: only the first areas of the file (--quick)."""
    folder = data / FIVE_MIN
    text = (folder / "ppldata.json").read_text(encoding="utf-8")
    if max_areas is not None:
        doc = json.loads(text)
        text = json.dumps(dict(itertools.islice(doc.items(), max_areas)), ensure_ascii=False)
    places = (folder / "places.csv").read_text(encoding="utf-8-sig")
    out: dict[str, list[PopulationEstimate]] = defaultdict(list)
    for e in iter_five_minute_log(text, places, source_file=str(folder / "ppldata.json")):
        if isinstance(e, PopulationEstimate):
            out[e.area_code].append(e)
    return dict(out)


def five_minute_run(
    log: dict[str, list[PopulationEstimate]],
    cal: Calibration,
    hotspots: dict[str, Any],
    directory: RecipientDirectory,
    surges_per_case: int,
    book: ThresholdBook | None = None,
) -> dict[str, Any]:
    """The 5-minute log as recorded (no drawing between samples), through the same path:
    a worker started at its first reading, every area, its calibration the one fitted on
    the whole hourly log (the 2023 days are not in it: scored out of sample); then area
    surges injected on its Monday evening."""
    areas = sorted(a for a in log if a in hotspots)
    events = [e for a in areas for e in log[a]]
    first = min(e.event_time for e in events)
    start = first.replace(minute=first.minute - first.minute % 5, second=0, microsecond=0)
    end = max(e.event_time for e in events) + STEP
    run = replay(events, start, end, {a: hotspots[a] for a in areas}, cal, tick=STEP,
                 directory=directory, book=book)  # fmt: skip
    days_span = (end - start) / timedelta(days=1)
    area_days = len(areas) * days_span
    caution = sum(1 for a in run.crowd if a.severity == Stage.CAUTION)
    higher = [a for a in run.crowd if a.severity >= Stage.ALERT]
    surges = five_minute_surges(log, areas, cal, hotspots, surges_per_case, book)
    sms_days = sorted({kst_day(start), kst_day(end)})
    sms = sms_figures([run.sms] if run.sms else [], directory, sms_days)
    # per recipient per day over the log's span (31 hours, not two whole days)
    for name in ("tier_1", "tier_2", "tier_3", "technical"):
        group = [r for r in directory.recipients
                 if (r.role == "technical") == (name == "technical")
                 and (name == "technical" or f"tier_{r.tier}" == name)]  # fmt: skip
        ids = {r.recipient_id for r in group}
        n = sum(1 for x in (run.sms.sent if run.sms else []) if x.recipient_id in ids)
        sms[name]["per_day_mean"] = round(n / len(group) / days_span, 2) if group else None
    return {
        "span": f"{start.astimezone(KST):%Y-%m-%d %H:%M}..{end.astimezone(KST):%Y-%m-%d %H:%M}",
        "areas": len(areas),
        "area_days": round(area_days, 1),
        "readings": len(events),
        # What the worker's live path says at the log's time (Calibration.covers): a fit
        # on later history speaks for none of it, so the areas are `uncalibrated`.
        "fit_span": f"{cal.span_from:%Y-%m-%d}..{cal.span_to:%Y-%m-%d}"
        if cal.span_from and cal.span_to
        else None,
        "calibrated_areas": sum(
            1 for a in areas if cal.source(a) != UNCALIBRATED and cal.covers(start)
        ),
        "caution_alerts": caution,
        "caution_per_area_day": round(caution / area_days, 4) if area_days else None,
        "alert_or_above": len(higher),
        "alert_or_above_at": sorted(
            f"{a.at.astimezone(KST):%m-%d %H:%M} {a.key} {a.severity.wire_name}" for a in higher
        ),
        "caution_at": sorted(
            f"{a.at.astimezone(KST):%m-%d %H:%M} {a.key} {a.rule.value}"
            for a in run.crowd
            if a.severity == Stage.CAUTION
        ),
        "by_rule": dict(Counter(a.rule.value for a in run.crowd)),
        "technical_alerts": len(run.technical),
        "sms_per_recipient_day": sms,
        "surges": surges,
        # Surges are "3x the area's normal": with no fair normal (no area calibrated for
        # the log's time) there is nothing to scale and none are run.
        "targets": {
            "uninjected_caution_le_0.05_per_area_day": bool(area_days)
            and caution / area_days <= 0.05,
            "uninjected_none_at_alert_or_above": not higher,
            "every_surge_alerted": all(x["alerted"] for x in surges) if surges else None,
            "area_3x_alerted_within_15_min": all(
                x["minutes_after_3x"] is not None and x["minutes_after_3x"] <= 15 for x in surges
            )
            if surges
            else None,
        },
    }


def five_minute_surges(
    log: dict[str, list[PopulationEstimate]],
    areas: list[str],
    cal: Calibration,
    hotspots: dict[str, Any],
    per_case: int,
    book: ThresholdBook | None = None,
) -> list[dict[str, Any]]:
    """3x and 5x surges from 18:00 on the log's Monday, on its recorded 5-minute series."""
    day = min(kst_day(e.event_time) for a in areas for e in log[a])
    at = datetime.combine(day, SURGE_AT, KST)
    sites = [a for a in areas if a in cal.calibrated and _usual_at_six(cal, a, day) >= 500]
    out: list[dict[str, Any]] = []
    serial = 0
    for factor in (3.0, 5.0):
        for ramp in RAMPS:
            for _ in range(per_case):
                if not sites:
                    break
                area = sites[(serial * 37) % len(sites)]
                serial += 1
                series = [(e.event_time, e.people) for e in log[area]]
                normal = normal_at(cal, area, series, book)
                injected = inject_surge(series, AreaSurge(area, at, ramp, factor), normal)
                danger = first_at_ratio(injected, normal, 3.0)
                start = datetime.combine(day, time(12, 0), KST)
                events = telecom_events(area, [(t, p) for t, p in injected if t >= start])
                end = datetime.combine(day, time(23, 55), KST)
                result = replay(events, start, end, {area: hotspots[area]}, cal, tick=STEP,
                                book=book)  # fmt: skip
                hits = [a for a in result.crowd if a.at >= at]
                first = min(hits, key=lambda a: a.at, default=None)
                out.append({
                    "factor": factor, "ramp_min": ramp, "area": area,
                    "alerted": first is not None,
                    "top": max((a.severity for a in hits), default=Stage.NORMAL).wire_name,
                    "minutes_after_3x": None if first is None or danger is None
                    else round((first.at - danger) / timedelta(minutes=1), 1),
                })  # fmt: skip
    return out


def baseline(results: dict[date, RunResult], areas: int) -> dict[str, Any]:
    """Alerts opened on uninjected days, per area per day, at 주의 and at 경계 or above."""
    caution = sum(1 for r in results.values() for a in r.crowd if a.severity == Stage.CAUTION)
    higher = sum(1 for r in results.values() for a in r.crowd if a.severity >= Stage.ALERT)
    area_days = areas * len(results)
    rules = Counter(a.rule.value for r in results.values() for a in r.crowd)
    return {
        "days": len(results),
        "area_days": area_days,
        "caution_alerts": caution,
        "caution_per_area_day": round(caution / area_days, 4) if area_days else None,
        "alert_or_above": higher,
        # Which: each is a day to look at (a game night at a stadium, a park's weekend).
        "alert_or_above_at": sorted(
            f"{a.at.astimezone(KST):%m-%d %H:%M} {a.key} {a.severity.wire_name}"
            for r in results.values()
            for a in r.crowd
            if a.severity >= Stage.ALERT
        ),
        "by_rule": dict(rules),
        "technical_alerts": sum(len(r.technical) for r in results.values()),
    }


def surge_cases(
    points: dict[str, list[tuple[datetime, float]]],
    cals: dict[date, Calibration],
    days: list[date],
    hotspots: dict[str, Any],
    per_case: int,
    book: ThresholdBook | None = None,
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    serial = 0
    for factor in FACTORS:
        for ramp in RAMPS:
            for _ in range(per_case):
                picked = None
                for _attempt in range(len(days)):
                    day = days[serial % len(days)]
                    serial += 1
                    picked = _surge_site(points, cals[day], day, hotspots, serial)
                    if picked is not None:
                        break
                if picked is None:
                    continue
                area, series = picked
                cal = cals[day]
                normal = normal_at(cal, area, series, book)
                surge = AreaSurge(area, datetime.combine(day, SURGE_AT, KST), ramp, factor)
                injected = inject_surge(series, surge, normal)
                danger = first_at_ratio(injected, normal, min(factor, 3.0))
                start = datetime.combine(day, time(12, 0), KST)
                events = telecom_events(area, [(t, p) for t, p in injected if t >= start])
                end = datetime.combine(day, time(23, 55), KST)
                result = replay(events, start, end, {area: hotspots[area]}, cal, tick=STEP,
                                book=book)  # fmt: skip
                hits = [a for a in result.crowd if a.at >= surge.start]
                first = min(hits, key=lambda a: a.at, default=None)
                out.append({
                    "kind": "area", "factor": factor, "ramp_min": ramp, "area": area,
                    "day": day.isoformat(), "alerted": first is not None,
                    "top": max((a.severity for a in hits), default=Stage.NORMAL).wire_name,
                    "minutes_after_danger": None if first is None or danger is None
                    else round((first.at - danger) / timedelta(minutes=1), 1),
                    "false_before": len([a for a in result.crowd if a.at < surge.start]),
                })  # fmt: skip
    return out


def _surge_site(
    points: dict[str, list[tuple[datetime, float]]],
    cal: Calibration,
    day: date,
    hotspots: dict[str, Any],
    serial: int,
) -> tuple[str, Series] | None:
    """An area busy enough at six (a usual 500 people or more) with a recorded evening."""
    window = (datetime.combine(day, SURGE_AT, KST) - timedelta(hours=1),
              datetime.combine(day, time(22, 30), KST))  # fmt: skip
    candidates = []
    for a in sorted(points):
        if a not in cal.calibrated or a not in hotspots or _usual_at_six(cal, a, day) < 500:
            continue
        series = day_series(points[a], day, cal, a, hotspots[a].walkable_m2)
        if _covers(series, window):
            candidates.append((a, series))
    return candidates[(serial * 37) % len(candidates)] if candidates else None


def _covers(series: Series, window: tuple[datetime, datetime]) -> bool:
    """A point at least every 10 minutes through the window: there is a day to inject in."""
    times = [t for t, _ in series if window[0] <= t <= window[1]]
    edges = [window[0], *times, window[1]]
    return bool(times) and all(b - a <= 2 * STEP for a, b in itertools.pairwise(edges))


def _usual_at_six(cal: Calibration, area: str, day: date) -> float:
    n = cal.normal(area, datetime.combine(day, SURGE_AT, KST))
    return n.mean if n is not None else 0.0


def zone_cases(hotspots: dict[str, Any], seeds: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    start = datetime(2026, 6, 20, 18, 0, tzinfo=KST)
    for ramp in RAMPS:
        for seed in range(seeds):
            case = zone_ramp("POI009", start, ramp, seed=seed)
            result = _zone_run(case, hotspots)
            lead = ramp_lead(result, case)
            out.append({
                "kind": "zone", "ramp_min": ramp, "seed": seed,
                "alerted": lead.warning_min is not None,
                "first_alert_lead_min": lead.warning_min,
                "serious_warning_lead_min": lead.forecast_min,
                "raised": len(result.crowd),
            })  # fmt: skip
    return out


def _zone_run(case: ZoneCase, hotspots: dict[str, Any]) -> RunResult:
    end = case.start + timedelta(minutes=case.minutes + 1)
    return replay(zone_events(case), case.start, end, {case.area: hotspots[case.area]}, None)


def quiet_cases(
    points: dict[str, list[tuple[datetime, float]]],
    cals: dict[date, Calibration],
    days: list[date],
    areas: list[str],
    hotspots: dict[str, Any],
    seeds: int,
    baseline_runs: dict[date, RunResult],
    book: ThresholdBook | None = None,
) -> list[dict[str, Any]]:
    """Nothing dangerous happens: every crowd alert raised is false."""
    out: list[dict[str, Any]] = []
    start = datetime(2026, 6, 20, 18, 0, tzinfo=KST)
    zone = {
        # counters switched on while the zone is busy (below 주의 at 2/m²)
        "cold_start_busy_zone": ((0.0, 1.7), (90.0, 1.8)),
        "counter_outage": ((0.0, 1.2), (90.0, 1.6)),
        "counter_dropout": ((0.0, 1.3), (90.0, 1.5)),
    }
    for name, knots in zone.items():
        for seed in range(seeds):
            silent: tuple[tuple[int, float, float], ...] = ()
            offsets = (-0.1, 0.1)
            if name == "counter_outage":
                silent = ((0, 30.0, 55.0), (1, 30.0, 55.0))
            if name == "counter_dropout":
                silent, offsets = ((1, 30.0, 50.0),), (-0.3, 0.3)
            case = ZoneCase("POI009", start, knots, offsets, silent, seed=seed)
            r = _zone_run(case, hotspots)
            out.append({"kind": name, "seed": seed, "crowd_alerts": len(r.crowd),
                        "technical_alerts": len(r.technical)})  # fmt: skip
    for day in days[: max(1, seeds)]:
        # What the uninterrupted worker raised that day is the day's own (judged in the
        # uninjected figure); what the restart or the outage adds is counted here.
        seen = {(a.key, a.rule, a.severity) for a in baseline_runs[day].crowd}
        cold = run_day(points, day, cals[day], areas, hotspots, start_at=time(18, 0), book=book)
        outage = run_day(points, day, cals[day], areas, hotspots,
                         outage=(time(14), time(14, 45)), book=book)  # fmt: skip
        for name, r in (("cold_start_worker", cold), ("telecom_outage_all_areas", outage)):
            extra = [a for a in r.crowd if (a.key, a.rule, a.severity) not in seen]
            out.append({"kind": name, "day": day.isoformat(), "crowd_alerts": len(extra),
                        "technical_alerts": len(r.technical)})  # fmt: skip
    return out


def comfort_figures(data: Path) -> dict[str, Any]:
    """bench/comfort_agreement.py's own run (rolling daily refit), last line."""
    script = ROOT / "bench" / "comfort_agreement.py"
    done = subprocess.run(
        [sys.executable, str(script), "--log", str(data / HOURLY)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def summarise(
    base: dict[str, Any],
    surges: list[dict[str, Any]],
    zones: list[dict[str, Any]],
    quiet: list[dict[str, Any]],
    comfort: dict[str, Any] | None,
) -> dict[str, Any]:
    def leads(ramp: int, key: str) -> list[float]:
        return [z[key] if z[key] is not None else float("-inf")
                for z in zones if z["ramp_min"] == ramp]  # fmt: skip

    dangerous = [s for s in surges if s["factor"] >= 3.0] + zones
    at3 = [s["minutes_after_danger"] for s in surges if s["factor"] >= 3.0]
    lead_fig = {}
    for ramp in RAMPS:
        w = sorted(leads(ramp, "serious_warning_lead_min"))
        f = sorted(leads(ramp, "first_alert_lead_min"))
        lead_fig[f"ramp_{ramp}"] = {
            "serious_warning_lead_min_p50": w[len(w) // 2] if w else None,
            "serious_warning_lead_min_min": w[0] if w else None,
            "first_alert_lead_min_min": f[0] if f else None,
        }
    two = [s for s in surges if s["factor"] == 2.0]
    targets = {
        "every_dangerous_scenario_alerted": all(s["alerted"] for s in dangerous),
        "area_3x_alerted_within_15_min": bool(at3) and all(m is not None and m <= 15 for m in at3),
        "serious_warning_30min_ramp_ge_10": lead_fig["ramp_30"]["serious_warning_lead_min_min"]
        is not None
        and lead_fig["ramp_30"]["serious_warning_lead_min_min"] >= 10,
        "serious_warning_60_120min_ramps_ge_20": all(
            lead_fig[f"ramp_{r}"]["serious_warning_lead_min_min"] is not None
            and lead_fig[f"ramp_{r}"]["serious_warning_lead_min_min"] >= 20
            for r in (60, 120)
        ),
        "uninjected_caution_le_0.05_per_area_day": base["caution_per_area_day"] is not None
        and base["caution_per_area_day"] <= 0.05,
        "uninjected_none_at_alert_or_above": base["alert_or_above"] == 0,
        "no_crowd_alert_from_cold_start_outage_dropout": all(q["crowd_alerts"] == 0 for q in quiet),
    }
    if comfort is not None:
        targets["comfort_kappa_ge_0.80"] = comfort.get("rolling_kappa", 0) >= 0.80
        targets["comfort_agreement_ge_93"] = comfort.get("rolling_agreement_pct", 0) >= 93.0
    return {
        "uninjected": base,
        "dangerous_scenarios": len(dangerous),
        "dangerous_alerted": sum(1 for s in dangerous if s["alerted"]),
        "area_2x_alerted": f"{sum(1 for s in two if s['alerted'])}/{len(two)}",
        "area_3x_minutes_to_alert_max": max((m for m in at3 if m is not None), default=None),
        "zone_ramps": lead_fig,
        "quiet_cases": len(quiet),
        "quiet_crowd_alerts": sum(q["crowd_alerts"] for q in quiet),
        "quiet_technical_alerts": sum(q["technical_alerts"] for q in quiet),
        "comfort": None if comfort is None else {
            k: comfort.get(k) for k in ("rolling_agreement_pct", "rolling_kappa", "rolling_rows")
        },
        "targets": targets,
    }  # fmt: skip


def print_table(surges: list[dict[str, Any]], zones: list[dict[str, Any]],
                quiet: list[dict[str, Any]], summary: dict[str, Any]) -> None:  # fmt: skip
    print(f"{'area surge':<12}{'ramp':>6}{'alerted':>9}{'top':>9}{'min after':>11}")
    for key in sorted({(s["factor"], s["ramp_min"]) for s in surges}):
        rows = [s for s in surges if (s["factor"], s["ramp_min"]) == key]
        late = [s["minutes_after_danger"] for s in rows if s["minutes_after_danger"] is not None]
        tops = Counter(s["top"] for s in rows).most_common(1)[0][0]
        print(f"{key[0]:<12.0f}{key[1]:>6}{sum(s['alerted'] for s in rows):>5}/{len(rows):<3}"
              f"{tops:>9}{max(late, default=float('nan')):>11.1f}")  # fmt: skip
    print(f"{'zone ramp':<12}{'':>6}{'warn 심각 p50/min':>20}{'first alert min':>17}")
    for ramp in RAMPS:
        z = summary["zone_ramps"][f"ramp_{ramp}"]
        p50, low = z["serious_warning_lead_min_p50"], z["serious_warning_lead_min_min"]
        print(f"{ramp:<12}{'':>6}{p50!s:>10}/{low!s:<9}{z['first_alert_lead_min_min']!s:>17}")
    print(f"{'quiet case':<28}{'crowd':>7}{'technical':>11}")
    for kind in sorted({q["kind"] for q in quiet}):
        rows = [q for q in quiet if q["kind"] == kind]
        print(f"{kind:<28}{sum(q['crowd_alerts'] for q in rows):>7}"
              f"{sum(q['technical_alerts'] for q in rows):>11}")  # fmt: skip
    b = summary["uninjected"]
    print(f"uninjected: {b['days']} days, {b['area_days']} area-days, 주의 {b['caution_alerts']}"
          f" ({b['caution_per_area_day']}/area-day), 경계+ {b['alert_or_above']}")  # fmt: skip
    sms = b["sms_per_recipient_day"]
    print(f"SMS per recipient per day (uninjected): tier 1 {sms['tier_1']['per_day_mean']}"
          f" (max {sms['tier_1']['per_day_max']}), tier 2 {sms['tier_2']['per_day_mean']},"
          f" tier 3 {sms['tier_3']['per_day_mean']}, technical"
          f" {sms['technical']['per_day_mean']}; rate-limited {sms['rate_limited']}")  # fmt: skip
    f = summary.get("five_minute_log")
    if f is not None:
        s5 = f"{sum(1 for x in f['surges'] if x['alerted'])}/{len(f['surges'])}"
        print(f"5-minute log {f['span']}: {f['areas']} areas, {f['area_days']} area-days,"
              f" 주의 {f['caution_alerts']} ({f['caution_per_area_day']}/area-day),"
              f" 경계+ {f['alert_or_above']}; surges alerted {s5}")  # fmt: skip
    for name, ok in summary["targets"].items():
        print(f"  {'MET ' if ok else 'MISS'} {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few days and areas, no comfort")
    parser.add_argument("--data", type=Path, default=DATA, help="the recorded Seoul logs")
    parser.add_argument("--calendar", type=Path, default=CALENDAR,
                        help="declared crowds (event days); 'none': declare nothing")  # fmt: skip
    args = parser.parse_args()
    book = None if str(args.calendar) == "none" else load_calendar(args.calendar)

    hotspots = hotspots_by_code()
    points, labelled = load(args.data)
    days = sorted({kst_day(t) for pts in points.values() for t, _ in pts})
    scored = days[WARMUP_DAYS:-1]  # the last day is partial
    if args.quick:
        scored = scored[:2]
    cals = {
        day: fit_calibration(
            [r for r in labelled if kst_day(r.at) < day],
            datetime.combine(day, time(), KST),
            CalibrationPolicy(),
        )
        for day in scored
    }
    areas = sorted(a for a in points if a in hotspots)
    if args.quick:
        areas = areas[:20]
    directory = seoul_directory(h.district for h in hotspots.values())
    runs = {
        d: run_day(points, d, cals[d], areas, hotspots, directory=directory, book=book)
        for d in scored
    }
    base = baseline(runs, len(areas))
    base["sms_per_recipient_day"] = sms_figures(
        [r.sms for r in runs.values() if r.sms is not None], directory, scored
    )
    surges = surge_cases(points, cals, scored, hotspots, 1 if args.quick else 4, book)
    zones = zone_cases(hotspots, seeds=2 if args.quick else 10)
    quiet = quiet_cases(points, cals, scored, areas, hotspots, 1 if args.quick else 3, runs, book)
    comfort = None if args.quick else comfort_figures(args.data)
    summary = summarise(base, surges, zones, quiet, comfort)
    whole = fit_calibration(labelled, datetime.combine(days[-1], time(), KST) + timedelta(days=1),
                            CalibrationPolicy())  # fmt: skip
    five = load_five_minute(args.data, 20 if args.quick else None)
    summary["five_minute_log"] = five_minute_run(
        five, whole, hotspots, directory, 1 if args.quick else 2, book
    )
    summary["declared_crowds"] = None if book is None else [
        f"{p.name}: {sorted(p.area_codes)} {p.expected_people:,.0f}" for p in book.events
    ]  # fmt: skip
    print_table(surges, zones, quiet, summary)
    print(json.dumps(summary, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
