"""Phone numbers, masking, subscriptions and the per-recipient rate limit."""

from __future__ import annotations

import pytest
from alerts_factories import at

from alerts.recipients import (
    MessageRateLimiter,
    PhoneNumberError,
    Recipient,
    RecipientDirectory,
    normalize_phone,
)
from citypulse.domain.stages import Stage


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("010-1234-5678", "+821012345678"),
        ("01012345678", "+821012345678"),
        ("010 1234 5678", "+821012345678"),
        ("010.1234.5678", "+821012345678"),
        ("+82 10-1234-5678", "+821012345678"),
        ("+821012345678", "+821012345678"),
        ("+82-010-1234-5678", "+821012345678"),  # trunk 0 kept by habit
        ("82 10 1234 5678", "+821012345678"),
        (" (010) 9876-0001 ", "+821098760001"),
    ],
)
def test_normalize_phone(raw: str, e164: str) -> None:
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "02-1234-5678",  # Seoul landline: no SMS
        "011-234-5678",  # old 2G prefix, retired
        "010-1234-567",
        "010-1234-56789",
        "1012345678",
        "+1 415 555 0100",
        "+82 2-1234-5678",
        "010-ABCD-5678",
        "",
    ],
)
def test_reject_non_mobile_numbers(raw: str) -> None:
    with pytest.raises(PhoneNumberError) as err:
        normalize_phone(raw)
    # The error may reach a log: it shows at most the last two digits.
    digits = "".join(c for c in raw if c.isdigit())
    assert digits[:-2] == "" or digits[:-2] not in str(err.value).replace("-", "")


def test_recipient_never_shows_full_number() -> None:
    r = Recipient("r1", "김관제", "010-1234-5678")
    assert r.phone == "+821012345678"
    assert "1234" not in repr(r) and r.masked_phone == "+82******5678"


YONGSAN, JONGNO = frozenset({"용산구"}), frozenset({"종로구"})
DIRECTORY = RecipientDirectory(
    (
        Recipient("yongsan-cctv", "용산구 CCTV관제센터", "010-1111-0001", 1, districts=YONGSAN),
        Recipient("jongno-cctv", "종로구 CCTV관제센터", "010-1111-0002", 1, districts=JONGNO),
        Recipient("city-room", "서울시 재난안전상황실", "010-2222-0001", 2, language="ko"),
        Recipient("city-en", "Seoul duty officer", "010-2222-0002", 2, language="en"),
        Recipient("fire-119", "119 종합상황실", "010-3333-0119", 3),
        Recipient("police-112", "112 치안상황실", "010-3333-0112", 3),
        Recipient("itaewon-only", "이태원 상인회", "010-4444-0001", 1,
                  area_codes=frozenset({"POI072"})),
        Recipient("fest-staff", "축제 안전요원", "010-5555-0001", 1,
                  groups=frozenset({"yongsan-festival-staff"}), districts=frozenset({"마포구"})),
        Recipient("retired", "퇴직자", "010-6666-0001", 1, active=False),
        Recipient("dup-phone", "같은 번호", "+82 10-2222-0001", 3),
    )
)  # fmt: skip


@pytest.mark.parametrize(
    ("tiers", "district", "area", "groups", "expected"),
    [
        ({1}, "용산구", "POI072", (), ["itaewon-only", "yongsan-cctv"]),
        ({1}, "용산구", "POI073", (), ["yongsan-cctv"]),
        ({1}, "종로구", "POI009", (), ["jongno-cctv"]),
        ({1, 2}, "종로구", "POI009", (), ["jongno-cctv", "city-en", "city-room"]),
        # 심각: everyone subscribed; the 119/112 rooms cover the whole city.
        ({1, 2, 3}, "용산구", "POI073", (),
         ["yongsan-cctv", "city-en", "city-room", "fire-119", "police-112"]),
        # Event-day staff come through their group whatever their subscription.
        ({1}, "용산구", "POI073", ("yongsan-festival-staff",), ["fest-staff", "yongsan-cctv"]),
        (set(), "용산구", "POI073", (), []),
    ],
)  # fmt: skip
def test_directory_select(
    tiers: set[int], district: str, area: str, groups: tuple[str, ...], expected: list[str]
) -> None:
    chosen = DIRECTORY.select(tiers, district, area, groups)
    assert [r.recipient_id for r in chosen] == expected
    assert len({r.phone for r in chosen}) == len(chosen)  # one text per phone


def test_duplicate_ids_refused() -> None:
    r = Recipient("a", "a", "010-1234-5678")
    with pytest.raises(ValueError):
        RecipientDirectory((r, r))


@pytest.mark.parametrize(
    ("sends", "expected"),
    [
        # (seconds, severity) with max 3 per 600 s.
        ([(0, Stage.CAUTION)] * 3 + [(10, Stage.CAUTION)], [True, True, True, False]),
        ([(0, Stage.CAUTION)] * 3 + [(10, Stage.SERIOUS)], [True, True, True, True]),
        ([(0, Stage.ALERT), (100, Stage.ALERT), (200, Stage.ALERT), (600, Stage.ALERT)],
         [True, True, True, True]),  # the first send left the window
        ([(0, Stage.SERIOUS)] * 5 + [(1, Stage.CAUTION)], [True] * 5 + [False]),
    ],
)  # fmt: skip
def test_rate_limit(sends: list[tuple[float, Stage]], expected: list[bool]) -> None:
    limiter = MessageRateLimiter(max_messages=3, window_s=600)
    assert [limiter.admit("r1", sev, at(t)) for t, sev in sends] == expected
    assert limiter.admit("r2", Stage.CAUTION, at(0))  # per recipient


def test_a_recipient_belongs_to_one_known_agency() -> None:
    from datetime import time

    r = Recipient(
        "9", "소방 상황실", "010-1234-5678", agency="fire", quiet_hours=(time(23), time(7))
    )
    assert r.agency == "fire" and r.quiet_hours == (time(23), time(7))
    assert Recipient("10", "x", "010-1234-5678").agency == "city"
    with pytest.raises(ValueError, match="agency"):
        Recipient("11", "x", "010-1234-5678", agency="army")  # type: ignore[arg-type]
