"""The record's assembler: order, masking, what a decision's stored figures say, CSV."""

from __future__ import annotations

import csv
import io

import pytest

from dashboard_api.record.entries import scrub
from dashboard_api.record.export import file_name, record_csv, safe_cell
from dashboard_api.record.timeline import COLUMNS, Sources
from tests.unit.dashboard_api.record.record_factories import (
    PHONE,
    alert_row,
    at,
    message,
    record,
    sources,
    trail,
)


def test_entries_come_in_time_order_and_ties_in_the_order_things_happen() -> None:
    kinds = [(e.at, e.kind) for e in record().entries]
    assert kinds == sorted(kinds, key=lambda k: k[0])
    at_zero = [e.kind for e in record().entries if e.at == at(0)]
    # The reading, the decision, the fan-out decision, then the text itself.
    assert at_zero == ["crowd", "decision", "decision", "sms"]
    order = [e.kind for e in record().entries]
    assert order.index("delivery") < order.index("acknowledgement") < order.index("comment")
    assert order[-1] == "resolution"


def test_each_kind_says_who_and_what() -> None:
    by_kind: dict[str, list[str]] = {}
    for e in record().entries:
        by_kind.setdefault(e.kind, []).append(f"{e.who} | {e.text}")
    assert by_kind["acknowledgement"] == ["김민수 (SMS link) | acknowledged from the phone"]
    assert by_kind["resolution"] == [
        "김관제 (kim.op) | resolved: was 경계 (dispersed) — "
        "figures not stored with this entry (before 2026-12)"
    ]
    opened = by_kind["decision"][0]
    assert opened.startswith("CityPulse | opened: stage 경계")
    for figure in ("경계", "3.40/m²", "3,400 people", "+0.020/m² per min", "3.90/m² in 15 min",
                   "reading of 2026-12-02 19:59:55 KST", "tier 1"):  # fmt: skip
        assert figure in opened
    assert [a.split(" | ")[1] for a in by_kind["action"]] == [
        "alert.comment 12: text=CCTV 3", "playbook.tick 12: item=출구 통제",
    ]  # fmt: skip
    assert by_kind["action"][1].startswith("김관제 (kim.op), operator")
    assert [t.split(" | ")[1] for t in by_kind["delivery"]] == [
        "delivery report: delivered (DELIVRD)"
    ]
    crowd = by_kind["crowd"]
    assert "3,400 people (3,300–3,500) by telecom (seoul_citydata), measured " in crowd[1]
    assert "Seoul says 붐빔" in crowd[1] and "stored time unknown" not in crowd[1]
    assert "stored time unknown" in crowd[2]


def test_phones_are_masked_for_non_admins_and_links_never_shown() -> None:
    hidden, shown = record(show_phones=False), record(show_phones=True)
    texts = lambda r: " ".join(f"{e.who} {e.text}" for e in r.entries)  # noqa: E731
    assert PHONE not in texts(hidden) and "+82******2347" in texts(hidden)
    assert PHONE in texts(shown)
    for r in (hidden, shown):
        assert "AbCdEfGhIjKlMnOp" not in texts(r) and "/a/…" in texts(r)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 010-5551-2347 now", "call ***47 now"),
        ("call 01055512347", "call ***47"),
        ("+821055512347", "+82******2347"),
        ("821055512347.", "***47."),
        ("2026-12-02 20:21:16 KST 3,400 people A12", "2026-12-02 20:21:16 KST 3,400 people A12"),
        ("", ""),
    ],
)
def test_scrub_masks_numbers_not_dates_or_counts(text: str, masked: str) -> None:
    assert scrub(text, show_phones=False) == masked
    assert scrub(text, show_phones=True) == text


def test_a_failed_text_without_reports_says_why_and_grouped_texts_name_their_alerts() -> None:
    failed = message(8, status="failed", reports=[], sent_at=None, final_at=at(50),
                     last_error=f"rejected {PHONE}", alert_ids=[12, 13])  # fmt: skip
    r = record(src=Sources(alerts=[alert_row()], messages=[failed]))
    assert [(e.kind, e.text.split(":")[0]) for e in r.entries] == [
        ("sms", "SMS fire for A12, A13 queued (now failed, 1 attempt(s))"),
        ("delivery", "failed"),
    ]
    assert r.entries[1].text == "failed: rejected +82******2347"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"), ("+82 10", "'+82 10"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"), ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""),
        ("경계", "경계"),
    ],
)  # fmt: skip
def test_csv_cells_that_start_a_formula_are_defused(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_csv_has_one_row_per_entry_and_survives_quotes_commas_and_newlines() -> None:
    src = sources()
    tricky = trail(9, 250, "kim.op", "commented", detail='=cmd|" /C calc"!A0, "quoted"\nline 2')
    r = record(src=Sources(**{**src.__dict__, "trail": [*src.trail, tricky]}))
    text = record_csv(r)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == list(COLUMNS) and len(rows) == len(r.entries) + 1
    comment = next(row for row in rows if row[2] == "comment" and "calc" in row[6])
    assert comment[6] == 'comment: =cmd|" /C calc"!A0, "quoted"\nline 2'
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert PHONE not in text
    assert file_name(r, "csv") == "citypulse_record_A12.csv"


def test_an_entry_row_names_its_alert_and_area_and_the_time_in_both_zones() -> None:
    row = record().public()["entries"][2]
    assert row == {
        "time": "2026-12-02T11:00:00+00:00", "time_kst": "2026-12-02 20:00:00 KST",
        "kind": "decision", "alert": "A12", "area": "POI004", "who": "CityPulse",
        "text": row["text"],
    }  # fmt: skip
    summary = record().public()["alerts"][0]
    assert (summary["alert"], summary["stage_ko"], summary["peak_stage_ko"]) == (
        "A12",
        "경계",
        "심각",
    )
