"""`citypulse drill`: the namespace a drill gets, who it texts, and `citypulse simulate`
runs the live worker would reject, refused up front with a pointer to drills."""

from __future__ import annotations

import argparse
import importlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.providers.kannel_dlr import drill_dlr_secret
from alerts.providers.settings import SmsSettings
from citypulse.cli import drill
from citypulse.config import StackSettings

LIVE = StackSettings()
cli_main = importlib.import_module("citypulse.cli.main")  # the package exports `main` itself


def test_a_drill_has_its_own_topics_schema_and_groups_on_the_same_stack() -> None:
    d = drill.drill_stack(LIVE, "ab12")
    assert (d.topic_prefix, d.db_schema, d.drill_id) == ("drill-ab12", "drill_ab12", "ab12")
    assert d.topic("city-events") != LIVE.topic("city-events")
    assert "search_path=drill_ab12,public" in d.db_conninfo
    assert (d.kafka_bootstrap, d.db_port, d.db_name) == (
        LIVE.kafka_bootstrap, LIVE.db_port, LIVE.db_name,
    )  # fmt: skip
    assert drill.is_drill(d) and not drill.is_drill(LIVE)


@given(st.text(max_size=30))
def test_a_drill_id_is_letters_and_digits_or_refused(text: str) -> None:
    if drill.DRILL_ID.match(text):
        assert drill.drill_stack(LIVE, text).db_schema == f"drill_{text}"
    else:
        with pytest.raises(drill.DrillError):
            drill.drill_stack(LIVE, text)


def test_the_processes_read_the_drill_namespace_and_clock_and_no_live_link() -> None:
    d = drill.drill_stack(LIVE, "ab12")
    start = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    env = drill.process_env(d, start, 1_000.0, 60.0)
    fields = {k.removeprefix("CITYPULSE_").lower(): v for k, v in env.items()}
    read = StackSettings(**{k: v for k, v in fields.items() if k in StackSettings.model_fields})
    assert (read.topic_prefix, read.db_schema, read.drill_id) == (
        "drill-ab12",
        "drill_ab12",
        "ab12",
    )
    assert read.clock_sim_start == start and read.clock_speed == 60.0
    assert env["CITYPULSE_SMS_ACK_LINK_BASE_URL"] == ""  # no link to the live API


def test_a_drills_delivery_reports_name_it_and_carry_a_signature_of_its_own() -> None:
    start = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
    live = SmsSettings(dlr_callback_url="http://api:8000/sms/dlr/kannel", dlr_secret="s3cret")  # noqa: S106
    envs = {
        d: drill.process_env(drill.drill_stack(LIVE, d), start, 1_000.0, 60.0, live)
        for d in ("ab12", "cd34")
    }
    assert envs["ab12"]["CITYPULSE_SMS_DLR_CALLBACK_URL"] == (
        "http://api:8000/sms/dlr/kannel?drill=ab12"
    )
    secrets = {e["CITYPULSE_SMS_DLR_SECRET"] for e in envs.values()}
    assert len(secrets) == 2 and "s3cret" not in secrets  # neither the live one nor shared
    # The API, knowing only the live secret, checks a drill's reports.
    assert envs["cd34"]["CITYPULSE_SMS_DLR_SECRET"] == drill_dlr_secret("s3cret", "cd34")


@given(st.text(max_size=40))
def test_a_drill_recipient_is_parsed_or_refused_clearly(text: str) -> None:
    try:
        r = drill.parse_recipient(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
        return
    assert r.phone_e164.startswith("+") and r.tier in (1, 2, 3) and r.language in ("ko", "en")
    assert r.phone_e164[3:-4] not in r.name or len(r.phone_e164) < 8  # the name masks it


def test_recipient_forms() -> None:
    assert drill.parse_recipient("+821000000101:2:en") == drill.DrillRecipient(
        "drill +82******0101", "+821000000101", 2, "en"
    )
    assert drill.parse_recipient("+821000000102").tier == 1
    with pytest.raises(argparse.ArgumentTypeError):
        drill.parse_recipient("+821000000101:4")


def _simulate(*argv: str) -> argparse.Namespace:
    return cli_main.build_parser().parse_args(["simulate", *argv])


def test_a_fast_run_is_refused_with_a_pointer_to_drills(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "seed_already_sent", lambda *a: False)
    args = _simulate("--scenario", "alley_crush", "--speed", "60", "--duration-min", "40")
    why = cli_main.simulate_refusal(args, LIVE, 60.0)
    assert why is not None and "future_time" in why
    assert "citypulse drill start alley_crush --speed 60" in why
    # Within the future limit, or in real time, it runs.
    short = _simulate("--scenario", "alley_crush", "--speed", "2", "--duration-min", "8")
    assert cli_main.simulate_refusal(short, LIVE, 2.0) is None
    realtime = _simulate("--scenario", "alley_crush", "--realtime")
    assert cli_main.simulate_refusal(realtime, LIVE, 1.0) is None


def test_a_repeated_seed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, int]] = []

    def sent(_s: StackSettings, scenario: str, seed: int) -> bool:
        asked.append((scenario, seed))
        return seed == 7

    monkeypatch.setattr(cli_main, "seed_already_sent", sent)
    why = cli_main.simulate_refusal(_simulate("--scenario", "festival", "--realtime"), LIVE, 1.0)
    assert why is None  # a realtime run sends ids of its own (`up` restarts it)
    args = _simulate("--scenario", "festival", "--speed", "1", "--seed", "7")
    why = cli_main.simulate_refusal(args, LIVE, 1.0)
    assert why is not None and "duplicate" in why and "citypulse drill start festival" in why
    args8 = _simulate("--scenario", "festival", "--speed", "1", "--seed", "8")
    assert cli_main.simulate_refusal(args8, LIVE, 1.0) is None
    assert ("festival", 7) in asked


def test_realtime_with_another_speed_is_an_error_not_a_silent_1x(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = cli_main.main(["simulate", "--scenario", "festival", "--realtime", "--speed", "60"])
    assert code == 2
    assert "citypulse drill start festival --speed 60" in capsys.readouterr().err
