"""What other offices' plans make due: weekly reports, early deadlines, spans, issue dates and
merged units, with the country's calendar (explicit dates, Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pendulum
import pytest

from plans import CAO_LOC_2024
from plans.announcements import NATIONAL_CALENDAR, read_announcements
from plans.dues import Due, compute_dues
from plans.loader import parse_plan, predecessors, read_plan
from schedules.calendar import WorkCalendar

PLANS = Path(__file__).parent / "data" / "plans"
PROVINCE = read_plan(PLANS / "province-department.yaml")
REFORM = read_plan(PLANS / "commune-2025-reform.yaml")
MINI = Path(__file__).parent / "data" / "mini-plan.yaml"
# The country's calendar as shipped: holidays.VN plus the announcements file.
NATIONAL = WorkCalendar(o for a in read_announcements(NATIONAL_CALENDAR) for o in a.overrides())


def _dues(plan_dues: list[Due], obligation: str, unit: str) -> dict[str, Due]:
    return {
        d.period_label or "": d
        for d in plan_dues
        if (d.obligation or d.deliverable) == obligation and d.unit == unit
    }


PROVINCE_DUES = compute_dues(PROVINCE, NATIONAL)
REFORM_DUES = compute_dues(REFORM, NATIONAL)


def _local(instant: datetime) -> datetime:
    return pendulum.instance(instant).in_timezone("Asia/Ho_Chi_Minh")


@pytest.mark.parametrize(
    ("week", "deadline", "why"),
    [
        ("2026-W01", date(2026, 1, 5), "Fri 02/01/2026 is the announced New Year swap"),
        ("2026-W02", date(2026, 1, 9), "a plain Friday"),
        ("2026-W07", date(2026, 2, 13), "the Friday before Tết is worked"),
        ("2026-W08", date(2026, 2, 23), "Tết 16–20/02/2026: the next Monday"),
        ("2026-W18", date(2026, 5, 4), "Fri 01/05 is Labour Day"),
        ("2026-W53", date(2027, 1, 4), "ISO week 53 ends in 2027; Fri 01/01/2027 is off"),
    ],
)
def test_a_weekly_report_is_due_each_friday_rolled_to_a_working_day(
    week: str, deadline: date, why: str
) -> None:
    weekly = _dues(PROVINCE_DUES, "bc-tuan-dich-benh", "chi-cuc-cnty")
    assert len(weekly) == 53
    due = weekly[week]
    assert due.deadline_on == deadline, why
    # 15:00 in Vietnam on the due day.
    assert _local(due.deadline_at) == pendulum.datetime(
        deadline.year, deadline.month, deadline.day, 15, tz="Asia/Ho_Chi_Minh"
    )
    assert due.window.start.weekday() == 0 and due.window.end.weekday() == 6
    assert due.opens_at <= due.deadline_at


@pytest.mark.parametrize(
    ("obligation", "unit", "period", "deadline", "opens_on"),
    [
        # day 20 of the month before the period's last: estimated half-year figures
        ("bc-6-thang", "so-nnmt-ha-tinh", "2026-H1", date(2026, 5, 20), date(2026, 5, 1)),
        ("bc-6-thang", "so-nnmt-ha-tinh", "2026-H2", date(2026, 11, 20), date(2026, 11, 1)),
        # 15/11/2026 is a Sunday
        ("bc-nam", "so-nnmt-ha-tinh", "2026", date(2026, 11, 16), date(2026, 11, 1)),
        # Decree-09 month: 15/12/2025–14/01/2026, two working days after
        ("bc-thang-xa", "xa-thach-ha", "2026-01", date(2026, 1, 16), date(2026, 1, 14)),
        ("bc-thang-xa", "phuong-thanh-sen", "2026-02", date(2026, 2, 24), date(2026, 2, 14)),
    ],
)
def test_province_deadlines(
    obligation: str, unit: str, period: str, deadline: date, opens_on: date
) -> None:
    due = _dues(PROVINCE_DUES, obligation, unit)[period]
    assert due.deadline_on == deadline
    assert _local(due.opens_at) == pendulum.datetime(
        opens_on.year, opens_on.month, opens_on.day, tz="Asia/Ho_Chi_Minh"
    )


def test_an_obligation_applies_only_from_its_start_until_its_end() -> None:
    campaign = _dues(PROVINCE_DUES, "bc-thang-tiem-dot-1", "xa-cam-xuyen")
    assert {p: d.deadline_on for p, d in campaign.items()} == {
        "2026-03": date(2026, 4, 3),
        "2026-04": date(2026, 5, 6),  # 30/04 and 01/05 are off
        "2026-05": date(2026, 6, 3),
    }


def test_a_deliverable_opens_when_it_starts() -> None:
    plans = _dues(PROVINCE_DUES, "ke-hoach-tiem-dot-2", "xa-thach-ha")
    due = plans[""]
    assert (due.window.start, due.deadline_on) == (date(2026, 7, 1), date(2026, 8, 17))  # Sat
    assert _local(due.opens_at) == pendulum.datetime(2026, 7, 1, tz="Asia/Ho_Chi_Minh")
    assert {d.unit for d in PROVINCE_DUES if d.deliverable} == {
        "xa-thach-ha",
        "xa-cam-xuyen",
        "phuong-thanh-sen",
    }


@pytest.mark.parametrize(
    ("unit", "obligation", "periods"),
    [
        # Old communes owe what falls due until 30/06/2025: June's report (due 03/07) is not theirs.
        ("xa-dong", "bc-thang", [f"2025-{m:02d}" for m in range(1, 6)]),
        ("tt-dong-mau", "bc-thang", [f"2025-{m:02d}" for m in range(1, 6)]),
        ("xa-hoa-binh", "bc-thang", [f"2025-{m:02d}" for m in range(6, 13)]),
        ("xa-bac-son", "bc-thang", [f"2025-{m:02d}" for m in range(6, 13)]),
        # To the district until it ends; to the department from 01/07/2025.
        ("xa-bac", "bc-quy-ve-huyen", ["2025-Q1", "2025-Q2"]),
        ("xa-bac-son", "bc-quy-ve-huyen", []),
        ("xa-bac", "bc-quy-ve-so", []),
        ("xa-bac-son", "bc-quy-ve-so", ["2025-Q3", "2025-Q4"]),
        ("xa-tay", "bc-nam", []),
        ("xa-hoa-binh", "bc-nam", ["2025"]),
        ("xa-dong", "ke-hoach-xa-moi", []),
        ("xa-hoa-binh", "ke-hoach-xa-moi", [""]),
    ],
)
def test_merged_units_stop_and_their_successors_start(
    unit: str, obligation: str, periods: list[str]
) -> None:
    assert sorted(_dues(REFORM_DUES, obligation, unit)) == periods


def test_reform_deadlines() -> None:
    monthly = _dues(REFORM_DUES, "bc-thang", "xa-dong")
    assert monthly["2025-01"].deadline_on == date(2025, 2, 5)  # Tết 27/01–01/02/2025
    june = _dues(REFORM_DUES, "bc-thang", "xa-hoa-binh")["2025-06"]
    assert (june.window.start, june.window.end) == (date(2025, 6, 1), date(2025, 6, 30))
    assert june.deadline_on == date(2025, 7, 3)
    assert _dues(REFORM_DUES, "bc-quy-ve-huyen", "xa-dong")["2025-Q1"].deadline_on == date(
        2025, 3, 17
    )
    assert _dues(REFORM_DUES, "bc-nam", "xa-bac-son")["2025"].deadline_on == date(2025, 11, 17)


def test_a_units_predecessors_are_listed_once() -> None:
    assert predecessors(REFORM, "xa-hoa-binh") == ["xa-dong", "xa-tay", "tt-dong-mau"]
    assert predecessors(REFORM, "xa-bac-son") == ["xa-bac"]
    assert predecessors(REFORM, "xa-dong") == []
    # No period is owed by a predecessor and its successor both: the successor's year to date
    # adds its predecessors' reports without counting a period twice.
    for successor in ("xa-hoa-binh", "xa-bac-son"):
        earlier = set(predecessors(REFORM, successor))
        theirs = {(d.obligation, d.period_label) for d in REFORM_DUES if d.unit in earlier}
        its_own = {(d.obligation, d.period_label) for d in REFORM_DUES if d.unit == successor}
        assert theirs and its_own and not theirs & its_own


@pytest.mark.parametrize(
    ("issued_on", "first_owed", "deadline"),
    [
        (None, "2024-01", date(2024, 1, 16)),
        ("2024-01-16", "2024-01", date(2024, 1, 16)),  # due the day it is issued: owed
        ("2024-01-17", "2024-02", date(2024, 2, 16)),
        ("2024-03-20", "2024-04", date(2024, 4, 16)),  # March's, due 18/03, is not owed
    ],
)
def test_nothing_falls_due_before_the_plan_is_issued(
    issued_on: str | None, first_owed: str, deadline: date
) -> None:
    # The deliverable (due 10/02) moves to December: a plan cannot set work due before its issue.
    text = MINI.read_text(encoding="utf-8").replace("due_on: 2024-02-10", "due_on: 2024-12-10")
    if issued_on:
        text = text.replace("  year: 2024\n", f"  year: 2024\n  issued_on: {issued_on}\n")
    monthly = _dues(compute_dues(parse_plan(text), NATIONAL), "bao-cao-thang", "xa-mot")
    first = min(monthly)
    assert (first, monthly[first].deadline_on) == (first_owed, deadline)
    if issued_on:
        opened = _local(monthly[first].opens_at).date()
        assert opened >= date.fromisoformat(issued_on)


def test_the_cao_loc_plan_owes_no_january_report() -> None:
    """Issued 25/01/2024: the centre's January report, due 16/01, was never owed."""
    dues = compute_dues(read_plan(CAO_LOC_2024), NATIONAL)
    centre = _dues(dues, "bc-thang-tt-gdnn-gdtx", "tt-gdnn-gdtx")
    assert min(centre) == "2024-02"
    assert all(d.deadline_on >= date(2024, 1, 25) for d in dues)
