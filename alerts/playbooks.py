"""Playbooks (대응 매뉴얼): for each stage and area type, an ordered checklist of actions,
each with the agency that does it. Pure: the actions are loaded by the caller
(alerts/tables/playbooks.py); the defaults below are what migration 0016 seeds
(`alerts.tables.playbooks.seed_sql`).

The area type comes from the registry's Seoul category (sensors.registry `category`),
with a few named places overridden (squares and stadiums hold events) and a zone's own
name taking precedence (a narrow alley inside a shopping street is an alley). A stage
and type without actions of its own falls back to the `default` type's checklist.

The defaults follow Seoul's practice after 29 October 2022 (the Ministry of the Interior
and Safety's crowd-accident manual and the city's CCTV crowd-detection pilot): 관심 and
주의 are watched from the control rooms, 경계 puts staff on site and restricts inflow,
심각 brings police and fire in, closes exits and lets trains pass the station.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from citypulse.domain.agencies import AGENCIES, Agency
from citypulse.domain.stages import STAGE_NAMES, Stage

AreaType = Literal["station", "park", "alley", "festival_site", "default"]
AREA_TYPES: tuple[AreaType, ...] = get_args(AreaType)
AREA_TYPE_NAMES: dict[AreaType, dict[str, str]] = {
    "station": {"ko": "역", "en": "Station"},
    "park": {"ko": "공원", "en": "Park"},
    "alley": {"ko": "골목·상권", "en": "Alley / shopping street"},
    "festival_site": {"ko": "행사장", "en": "Festival site"},
    "default": {"ko": "기본", "en": "Default"},
}
# Stages that have a playbook (정상 has none).
PLAYBOOK_STAGES: tuple[Stage, ...] = (Stage.ATTENTION, Stage.CAUTION, Stage.ALERT, Stage.SERIOUS)
# The SMS names the first action for the recipient's agency from this stage up.
SMS_ACTION_FROM = Stage.ALERT

# Seoul's five hotspot categories (서울시 주요 120장소) -> the playbook's area type.
CATEGORY_AREA_TYPES: dict[str, AreaType] = {
    "인구밀집지역": "station",  # every one of them is a subway station and its exits
    "공원": "park",
    "발달상권": "alley",  # shopping streets, markets and food alleys
    "관광특구": "alley",  # Itaewon, Hongdae, Myeong-dong: alley networks
    "고궁·문화유산": "festival_site",  # palaces and Bosingak: the New Year bell, events
}
# Places whose category says otherwise than their use: squares and stadiums host events.
AREA_TYPE_OVERRIDES: dict[str, AreaType] = {
    "POI086": "festival_site",  # 고척돔 (a dome stadium, listed as a park)
    "POI088": "festival_site",  # 광화문광장
    "POI099": "festival_site",  # 서울광장
    "POI109": "festival_site",  # 잠실종합운동장
}
# A zone's name decides before its area's category (zones: sensors/simulator/zones.py).
_ZONE_WORDS: tuple[tuple[AreaType, tuple[str, ...]], ...] = (
    ("alley", ("골목", "alley")),
    ("station", ("출구", "역", "station", "exit")),
    ("festival_site", ("광장", "행사", "무대", "plaza", "stage")),
)

KEY_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,79}$"
_KEY = re.compile(KEY_PATTERN)
TEXT_MAX = 120  # characters of each language's text: the SMS quotes it
ACTIONS_MAX = 20  # per stage and area type


def area_type_for(category: str, area_code: str = "", zone_name: str | None = None) -> AreaType:
    """The playbook's area type of an area (its Seoul category and code) or one of its
    zones (by the zone's name); `default` for a category nobody mapped."""
    if zone_name:
        lowered = zone_name.lower()
        for area_type, words in _ZONE_WORDS:
            if any(w in lowered for w in words):
                return area_type
    if area_code in AREA_TYPE_OVERRIDES:
        return AREA_TYPE_OVERRIDES[area_code]
    return CATEGORY_AREA_TYPES.get(category.strip(), "default")


class PlaybookError(ValueError):
    """A playbook an admin wrote that cannot be stored; the message says why."""


@dataclass(frozen=True)
class PlaybookAction:
    key: str  # stable across edits: ticks refer to it
    stage: Stage
    area_type: AreaType
    position: int  # order within its checklist, from 1
    agency: Agency
    text_ko: str
    text_en: str

    def text(self, language: str) -> str:
        return self.text_en if language == "en" else self.text_ko


def checked_actions(
    stage: Stage, area_type: AreaType, items: Sequence[tuple[str, Agency, str, str]]
) -> tuple[PlaybookAction, ...]:
    """One checklist from (key, agency, text_ko, text_en) in order, or PlaybookError."""
    if stage not in PLAYBOOK_STAGES:
        raise PlaybookError(f"{stage.wire_name} has no playbook")
    if area_type not in AREA_TYPES:
        raise PlaybookError(f"unknown area type {area_type!r}")
    if len(items) > ACTIONS_MAX:
        raise PlaybookError(f"at most {ACTIONS_MAX} actions per checklist")
    out: list[PlaybookAction] = []
    for i, (key, agency, ko, en) in enumerate(items, start=1):
        if not _KEY.match(key):
            raise PlaybookError(f"action {i}: key must match {KEY_PATTERN}")
        if agency not in AGENCIES:
            raise PlaybookError(f"action {i}: agency must be one of {', '.join(AGENCIES)}")
        for lang, text in (("ko", ko), ("en", en)):
            if not text.strip() or len(text) > TEXT_MAX:
                raise PlaybookError(f"action {i}: {lang} text must be 1 to {TEXT_MAX} characters")
            if any(ord(c) < 32 or ord(c) == 127 for c in text):
                raise PlaybookError(f"action {i}: {lang} text has control characters")
        out.append(PlaybookAction(key, stage, area_type, i, agency, ko.strip(), en.strip()))
    keys = [a.key for a in out]
    if len(keys) != len(set(keys)):
        raise PlaybookError("action keys must be unique within a checklist")
    return tuple(out)


@dataclass(frozen=True)
class PlaybookBook:
    """Every stored action; looks up the checklist for a stage and area type."""

    actions: tuple[PlaybookAction, ...] = ()
    _by: dict[tuple[Stage, AreaType], tuple[PlaybookAction, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        grouped: dict[tuple[Stage, AreaType], list[PlaybookAction]] = {}
        for a in self.actions:
            grouped.setdefault((a.stage, a.area_type), []).append(a)
        for k, v in grouped.items():
            self._by[k] = tuple(sorted(v, key=lambda a: (a.position, a.key)))

    def own(self, stage: Stage, area_type: AreaType) -> tuple[PlaybookAction, ...]:
        """The checklist stored for exactly this stage and type (maybe empty)."""
        return self._by.get((stage, area_type), ())

    def playbook(self, stage: Stage, area_type: AreaType) -> tuple[PlaybookAction, ...]:
        """The checklist for an alert of this stage in an area of this type: its own, or
        the default type's when it has none; nothing below 관심."""
        if stage not in PLAYBOOK_STAGES:
            return ()
        return self.own(stage, area_type) or self.own(stage, "default")

    def first_for(self, stage: Stage, area_type: AreaType, agency: Agency) -> PlaybookAction | None:
        """The first action of the checklist that this agency does, if any."""
        return next((a for a in self.playbook(stage, area_type) if a.agency == agency), None)

    def replaced(
        self, stage: Stage, area_type: AreaType, actions: Iterable[PlaybookAction]
    ) -> PlaybookBook:
        """The book with one checklist replaced (an admin's edit)."""
        kept = [a for a in self.actions if (a.stage, a.area_type) != (stage, area_type)]
        return PlaybookBook((*kept, *actions))


@dataclass(frozen=True)
class PlaybookGuide:
    """What the SMS renderer needs: the book and each alert subject's area type."""

    book: PlaybookBook = PlaybookBook()
    area_types: Mapping[str, AreaType] = field(default_factory=dict)  # "POI004", "POI004/z"

    def sms_action(
        self, stage: Stage, subject_key: str, area_code: str, agency: Agency
    ) -> PlaybookAction | None:
        """The action a 경계/심각 text names for a recipient of this agency."""
        if stage < SMS_ACTION_FROM:
            return None
        area_type = self.area_types.get(subject_key) or self.area_types.get(area_code, "default")
        return self.book.first_for(stage, area_type, agency)


def stage_of_wire(name: str) -> Stage:
    """'alert' -> Stage.ALERT for the stages that have a playbook; PlaybookError else."""
    if name not in STAGE_NAMES or name == "normal":
        raise PlaybookError(f"stage must be one of {', '.join(STAGE_NAMES[1:])}")
    return Stage.from_name(name)


# -- the defaults migration 0016 seeds ----------------------------------------------------

_A, _C, _AL, _S = Stage.ATTENTION, Stage.CAUTION, Stage.ALERT, Stage.SERIOUS
_DEFAULTS: dict[tuple[Stage, AreaType], tuple[tuple[str, Agency, str, str], ...]] = {
    (_A, "default"): (
        ("attention.default.cctv-watch", "city", "상황실 CCTV 모니터링 강화",
         "Control room watches the area's CCTV more closely"),
        ("attention.default.check-events", "district", "행사·집회 일정 및 인파 유입 요인 확인",
         "Check events and rallies that draw people to the area"),
    ),
    (_C, "default"): (
        ("caution.default.cctv-centre", "district", "구청 CCTV 관제센터 집중 관제",
         "District CCTV centre watches the area continuously"),
        ("caution.default.notify-agencies", "city", "구청·경찰·소방에 상황 전파",
         "Tell the district office, police and fire"),
        ("caution.default.patrol", "police", "인근 순찰차 배치 및 현장 확인",
         "Send a nearby patrol to look at the site"),
        ("caution.default.signboards", "district", "전광판·안내판으로 혼잡 안내",
         "Show crowding notices on signboards"),
    ),
    (_AL, "default"): (
        ("alert.default.staff-on-site", "district", "현장 안전요원 배치",
         "Put district safety staff on site"),
        ("alert.default.restrict-inflow", "police", "진입로 유입 통제",
         "Restrict inflow at the approaches"),
        ("alert.default.broadcast", "district", "현장 안내방송 실시",
         "Broadcast crowd guidance on site"),
        ("alert.default.report-city", "city", "서울시 재난안전상황실 보고 및 상황 공유",
         "Report to the city disaster control room and share the picture"),
        ("alert.default.ambulance-standby", "fire", "구급차 인근 대기",
         "Stage an ambulance nearby"),
    ),
    (_AL, "station"): (
        ("alert.station.staff-on-site", "district", "역사·출구 안전요원 배치",
         "Put safety staff at the station and its exits"),
        ("alert.station.restrict-exits", "police", "출구별 유입 제한",
         "Restrict inflow at each exit"),
        ("alert.station.broadcast", "city", "역사 내 안내방송 요청(서울교통공사)",
         "Ask Seoul Metro for in-station announcements"),
        ("alert.station.ambulance-standby", "fire", "역 인근 구급차 대기",
         "Stage an ambulance near the station"),
    ),
    (_AL, "park"): (
        ("alert.park.staff-on-site", "district", "공원 진입로 안전요원 배치",
         "Put safety staff at the park entrances"),
        ("alert.park.restrict-inflow", "police", "공원 진입로 유입 제한",
         "Restrict inflow at the park entrances"),
        ("alert.park.broadcast", "district", "공원 안내방송 및 분산 귀가 안내",
         "Broadcast in the park and ask people to leave in stages"),
        ("alert.park.ambulance-standby", "fire", "공원 내 구급차 대기",
         "Stage an ambulance in the park"),
        ("alert.park.report-city", "city", "서울시 상황실 보고 및 대중교통 증편 요청",
         "Report to the city and ask for extra buses and trains"),
    ),
    (_AL, "alley"): (
        ("alert.alley.staff-on-site", "district", "골목 입구 안전요원 배치",
         "Put safety staff at the alley entrances"),
        ("alert.alley.one-way", "police", "골목 일방통행 보행 유도 및 유입 통제",
         "Guide pedestrians one way and restrict inflow to the alley"),
        ("alert.alley.broadcast", "district", "현장 안내방송 실시", "Broadcast crowd guidance"),
        ("alert.alley.clear-obstacles", "district", "골목 내 적치물·노점 정리",
         "Clear stalls and obstacles from the alley"),
        ("alert.alley.ambulance-standby", "fire", "인근 구급차 대기", "Stage an ambulance nearby"),
        ("alert.alley.report-city", "city", "서울시 상황실 보고 및 인근 역 무정차 검토",
         "Report to the city; prepare trains passing the nearest station"),
    ),
    (_AL, "festival_site"): (
        ("alert.festival_site.organiser-staff", "district", "주최측 안전요원 증원 요청",
         "Ask the organiser for more safety staff"),
        ("alert.festival_site.restrict-entry", "police", "행사장 입장 제한",
         "Restrict entry to the site"),
        ("alert.festival_site.broadcast", "district", "무대·현장 안내방송 실시",
         "Broadcast guidance from the stage and on site"),
        ("alert.festival_site.ambulance-standby", "fire", "현장응급의료소 운영 준비",
         "Prepare the on-site first aid post"),
        ("alert.festival_site.report-city", "city", "서울시 상황실 보고 및 대중교통 증편 요청",
         "Report to the city and ask for extra buses and trains"),
    ),
    (_S, "default"): (
        ("serious.default.request-police-fire", "city", "경찰·소방 출동 요청",
         "Request police and fire on site"),
        ("serious.default.close-approaches", "police", "진입로 차단 및 일방통행 보행 통제",
         "Close the approaches and control pedestrians one way"),
        ("serious.default.rescue", "fire", "구조·구급대 출동 및 현장응급의료소 설치",
         "Send rescue and set up a first aid post"),
        ("serious.default.disaster-sms", "district", "재난문자 발송 및 우회 안내",
         "Send a disaster text and point people elsewhere"),
    ),
    (_S, "station"): (
        ("serious.station.request-police-fire", "city", "경찰·소방 출동 요청",
         "Request police and fire at the station"),
        ("serious.station.trains-pass", "city", "열차 무정차 통과 요청(서울교통공사)",
         "Ask Seoul Metro to let trains pass without stopping"),
        ("serious.station.close-exits", "police", "혼잡 출구 폐쇄 및 일방통행 보행 통제",
         "Close crowded exits and control pedestrians one way"),
        ("serious.station.rescue", "fire", "구조·구급대 출동 및 현장응급의료소 설치",
         "Send rescue and set up a first aid post"),
        ("serious.station.disaster-sms", "district", "재난문자 발송 및 우회 안내",
         "Send a disaster text and point people elsewhere"),
    ),
    (_S, "park"): (
        ("serious.park.request-police-fire", "city", "경찰·소방 출동 요청",
         "Request police and fire in the park"),
        ("serious.park.close-entrances", "police", "공원 진입 차단 및 퇴장 동선 일방통행",
         "Close the entrances and make the way out one way"),
        ("serious.park.rescue", "fire", "구조·구급대 출동 및 현장응급의료소 설치",
         "Send rescue and set up a first aid post"),
        ("serious.park.stop-events", "district", "공원 내 행사 중단 및 재난문자 발송",
         "Stop events in the park and send a disaster text"),
        ("serious.park.trains-pass", "city", "인근 역 무정차 통과 요청",
         "Ask for trains to pass the nearest station"),
    ),
    (_S, "alley"): (
        ("serious.alley.request-police-fire", "city", "경찰·소방 출동 요청",
         "Request police and fire in the alley"),
        ("serious.alley.close-entrances", "police", "골목 진입 차단 및 일방통행 보행 통제",
         "Close the alley entrances and control pedestrians one way"),
        ("serious.alley.rescue", "fire", "구조·구급대 출동 및 현장응급의료소 설치",
         "Send rescue and set up a first aid post"),
        ("serious.alley.trains-pass", "city", "인근 역 무정차 통과 요청",
         "Ask for trains to pass the nearest station"),
        ("serious.alley.disaster-sms", "district", "재난문자 발송 및 우회 안내",
         "Send a disaster text and point people elsewhere"),
    ),
    (_S, "festival_site"): (
        ("serious.festival_site.request-police-fire", "city", "경찰·소방 출동 요청",
         "Request police and fire at the site"),
        ("serious.festival_site.stop-event", "district", "행사 중단 요청 및 재난문자 발송",
         "Ask the organiser to stop the event; send a disaster text"),
        ("serious.festival_site.close-entrances", "police", "출입구 폐쇄 및 퇴장 동선 일방통행",
         "Close the entrances and make the way out one way"),
        ("serious.festival_site.rescue", "fire", "구조·구급대 출동 및 현장응급의료소 설치",
         "Send rescue and set up a first aid post"),
        ("serious.festival_site.trains-pass", "city", "인근 역 무정차 통과 요청",
         "Ask for trains to pass the nearest station"),
    ),
}  # fmt: skip

DEFAULT_ACTIONS: tuple[PlaybookAction, ...] = tuple(
    a for (stage, area_type), items in _DEFAULTS.items()
    for a in checked_actions(stage, area_type, items)
)  # fmt: skip
DEFAULT_BOOK = PlaybookBook(DEFAULT_ACTIONS)
