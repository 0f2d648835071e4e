"""Playbooks: the area type of each Seoul category, the checklist an alert gets, the
first action for an agency, what an admin may store, and the seeded migration."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.playbooks import (
    AREA_TYPES,
    DEFAULT_ACTIONS,
    DEFAULT_BOOK,
    PLAYBOOK_STAGES,
    AreaType,
    PlaybookBook,
    PlaybookError,
    area_type_for,
    checked_actions,
    stage_of_wire,
)
from alerts.tables.playbooks import seed_sql, tick_state
from citypulse.domain.agencies import AGENCIES, Agency
from citypulse.domain.stages import Stage
from sensors.registry import load_hotspots

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("category", "code", "zone", "expected"),
    [
        ("인구밀집지역", "POI014", None, "station"),  # 강남역
        ("공원", "POI093", None, "park"),  # 뚝섬한강공원
        ("발달상권", "POI114", None, "alley"),  # 북창동 먹자골목
        ("관광특구", "POI004", None, "alley"),  # 이태원 관광특구
        ("고궁·문화유산", "POI010", None, "festival_site"),  # 보신각: the New Year bell
        ("공원", "POI088", None, "festival_site"),  # 광화문광장: a square, listed as a park
        ("공원", "POI099", None, "festival_site"),  # 서울광장
        ("공원", "POI109", None, "festival_site"),  # 잠실종합운동장
        (" 공원 ", "POI127", None, "park"),  # spaces around a category
        ("", "POI999", None, "default"),  # a category nobody mapped
        ("스키장", "POI999", None, "default"),
        # A zone's name decides before its area's category.
        ("관광특구", "POI004", "해밀톤호텔 옆 골목", "alley"),
        ("관광특구", "POI004", "이태원역 1번 출구", "station"),
        ("관광특구", "POI004", "광장", "festival_site"),
        ("발달상권", "POI059", "먹자골목", "alley"),
        ("인구밀집지역", "POI014", "역 출구 앞", "station"),
        ("공원", "POI093", "주 출입구", "park"),  # nothing in the name: the area's type
        ("고궁·문화유산", "POI008", "관람 동선", "festival_site"),
        ("공원", "POI093", "", "park"),
    ],
)
def test_area_type_for(category: str, code: str, zone: str | None, expected: AreaType) -> None:
    assert area_type_for(category, code, zone) == expected


def test_every_shipped_area_has_a_type_of_its_own() -> None:
    hotspots = load_hotspots()
    types = {h.code: area_type_for(h.category, h.code) for h in hotspots}
    assert "default" not in types.values()
    assert set(types.values()) == set(AREA_TYPES) - {"default"}


@pytest.mark.parametrize(
    ("stage", "area_type", "agency", "first_key"),
    [
        (Stage.ALERT, "station", "district", "alert.station.staff-on-site"),
        (Stage.ALERT, "station", "police", "alert.station.restrict-exits"),
        (Stage.ALERT, "alley", "police", "alert.alley.one-way"),
        (Stage.SERIOUS, "station", "city", "serious.station.request-police-fire"),
        (Stage.SERIOUS, "station", "police", "serious.station.close-exits"),
        (Stage.SERIOUS, "station", "fire", "serious.station.rescue"),
        (Stage.SERIOUS, "festival_site", "district", "serious.festival_site.stop-event"),
        # 관심 and 주의 have only the default checklist: every type falls back to it.
        (Stage.CAUTION, "park", "police", "caution.default.patrol"),
        (Stage.CAUTION, "station", "district", "caution.default.cctv-centre"),
        (Stage.ATTENTION, "alley", "city", "attention.default.cctv-watch"),
        (Stage.ATTENTION, "alley", "fire", None),  # fire has nothing to do at 관심
        (Stage.NORMAL, "station", "city", None),  # no playbook below 관심
    ],
)
def test_first_action_for_an_agency(
    stage: Stage, area_type: AreaType, agency: Agency, first_key: str | None
) -> None:
    found = DEFAULT_BOOK.first_for(stage, area_type, agency)
    assert (found.key if found else None) == first_key


@pytest.mark.parametrize("stage", [Stage.ALERT, Stage.SERIOUS])
@pytest.mark.parametrize("area_type", AREA_TYPES)
def test_at_alert_and_serious_every_agency_has_something_to_do(
    stage: Stage, area_type: AreaType
) -> None:
    for agency in AGENCIES:
        assert DEFAULT_BOOK.first_for(stage, area_type, agency) is not None, agency


def test_the_seeded_serious_station_playbook_is_seouls_practice() -> None:
    texts = [a.text_ko for a in DEFAULT_BOOK.playbook(Stage.SERIOUS, "station")]
    assert texts[0] == "경찰·소방 출동 요청"
    assert any("무정차" in t for t in texts) and any("출구 폐쇄" in t for t in texts)
    assert any("일방통행" in t for t in texts)
    alert = [a.text_ko for a in DEFAULT_BOOK.playbook(Stage.ALERT, "station")]
    assert any("배치" in t for t in alert) and any("유입 제한" in t for t in alert)


def test_an_own_checklist_replaces_the_default_and_an_empty_one_falls_back() -> None:
    own = checked_actions(Stage.CAUTION, "park", [("c.park.gates", "district", "문 닫기", "Gates")])
    book = DEFAULT_BOOK.replaced(Stage.CAUTION, "park", own)
    assert [a.key for a in book.playbook(Stage.CAUTION, "park")] == ["c.park.gates"]
    assert book.playbook(Stage.CAUTION, "alley") == DEFAULT_BOOK.playbook(Stage.CAUTION, "default")
    emptied = book.replaced(Stage.ALERT, "station", ())
    assert emptied.playbook(Stage.ALERT, "station") == DEFAULT_BOOK.own(Stage.ALERT, "default")
    assert PlaybookBook().playbook(Stage.SERIOUS, "station") == ()


def test_actions_keep_the_order_given() -> None:
    items = [("b", "fire", "둘", "two"), ("a", "city", "하나", "one"), ("c", "police", "셋", "3")]
    actions = checked_actions(Stage.ALERT, "park", items)  # type: ignore[arg-type]
    assert [(a.key, a.position) for a in actions] == [("b", 1), ("a", 2), ("c", 3)]
    book = PlaybookBook(tuple(reversed(actions)))
    assert [a.key for a in book.playbook(Stage.ALERT, "park")] == ["b", "a", "c"]


OK = ("k", "city", "한국어", "English")


@pytest.mark.parametrize(
    ("stage", "area_type", "items", "why"),
    [
        (Stage.NORMAL, "park", [OK], "no playbook"),
        (Stage.ALERT, "beach", [OK], "unknown area type"),
        (Stage.ALERT, "park", [("K", "city", "가", "a")], "key"),
        (Stage.ALERT, "park", [("-k", "city", "가", "a")], "key"),
        (Stage.ALERT, "park", [("k" * 81, "city", "가", "a")], "key"),
        (Stage.ALERT, "park", [("k", "army", "가", "a")], "agency"),
        (Stage.ALERT, "park", [("k", "city", " ", "a")], "ko text"),
        (Stage.ALERT, "park", [("k", "city", "가", "")], "en text"),
        (Stage.ALERT, "park", [("k", "city", "가" * 121, "a")], "ko text"),
        (Stage.ALERT, "park", [("k", "city", "가\n나", "a")], "control"),
        (Stage.ALERT, "park", [OK, OK], "unique"),
        (Stage.ALERT, "park", [(f"k{i}", "city", "가", "a") for i in range(21)], "at most"),
    ],
)
def test_what_an_admin_may_not_store(stage: Stage, area_type: str, items: list, why: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(PlaybookError, match=why):
        checked_actions(stage, area_type, items)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("alert", Stage.ALERT), ("serious", Stage.SERIOUS), ("normal", None), ("ALERT", None),
     ("경계", None), ("", None)],
)  # fmt: skip
def test_stage_of_wire(name: str, ok: Stage | None) -> None:
    if ok is None:
        with pytest.raises(PlaybookError):
            stage_of_wire(name)
    else:
        assert stage_of_wire(name) == ok


def test_keys_are_unique_across_the_seeded_book() -> None:
    keys = [a.key for a in DEFAULT_ACTIONS]
    assert len(keys) == len(set(keys))
    assert {a.stage for a in DEFAULT_ACTIONS} == set(PLAYBOOK_STAGES)


def test_migration_0016_seeds_exactly_the_defaults() -> None:
    migration = (ROOT / "infra/db/migrations/0016_playbooks.sql").read_text(encoding="utf-8")
    assert seed_sql(DEFAULT_ACTIONS) in migration
    assert migration.count("INSERT INTO playbook_actions") == 1


@pytest.mark.parametrize(
    ("rows", "ticked"),
    [
        ([], set()),
        ([("a", True)], {"a"}),
        ([("a", True), ("a", False)], set()),  # the untick is later
        ([("a", True), ("a", False), ("a", True), ("b", True)], {"a", "b"}),
        ([("a", False)], set()),
    ],
)
def test_tick_state_is_the_latest_row_per_action(
    rows: list[tuple[str, bool]], ticked: set[str]
) -> None:
    ticks = [{"action_key": k, "ticked": t, "id": i} for i, (k, t) in enumerate(rows)]
    state = tick_state(ticks)
    assert set(state) == ticked
    for k in ticked:  # the row that made it ticked is the last one for the key
        assert state[k]["id"] == max(i for i, (key, _) in enumerate(rows) if key == k)
