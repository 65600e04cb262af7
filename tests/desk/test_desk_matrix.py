"""The matrix's rule, pure: each cell's state, the rates (DHIS2's), the Vietnamese wording."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pendulum
import pytest

from schedules.calendar import WorkCalendar
from status.matrix import (
    CellState,
    cell_state,
    count_vi,
    period_heading,
    rate_vi,
    rates_of,
)
from status.states import ItemState, classify

VN = "Asia/Ho_Chi_Minh"
OPENS = pendulum.datetime(2024, 4, 1, 0, 0, tz=VN)
DEADLINE = pendulum.datetime(2024, 4, 4, 0, 0, tz=VN)  # the end of 03/04/2024 in Hà Nội
EXTENDED_TO = pendulum.datetime(2024, 4, 11, 0, 0, tz=VN)
CALENDAR = WorkCalendar()


def _state(
    *,
    as_of: datetime,
    first: datetime | None = None,
    extended: bool = False,
    excused: bool = False,
) -> ItemState:
    deadline_at = EXTENDED_TO if extended else DEADLINE
    status, overdue = classify(
        opens_at=OPENS,
        deadline_at=deadline_at,
        deadline_on=date(2024, 4, 10 if extended else 3),
        first_accepted_at=first,
        excused=excused,
        as_of=as_of,
        calendar=CALENDAR,
    )
    return ItemState(
        1, "k", "report", 1, "xa", "UBND xã", "bc", "Báo cáo", "2024-Q1", OPENS,
        deadline_at, deadline_at.date(), extended, first, status, overdue,
    )  # fmt: skip


def vn(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return pendulum.datetime(year, month, day, hour, minute, second, tz=VN)


@pytest.mark.parametrize(
    ("case", "as_of", "first", "extended", "excused", "expected"),
    [
        (
            "sent before the deadline",
            vn(2024, 5, 1),
            vn(2024, 4, 3, 23, 59),
            False,
            False,
            "on_time",
        ),
        ("sent at the deadline instant", vn(2024, 5, 1), DEADLINE, False, False, "on_time"),
        ("sent a second after", vn(2024, 5, 1), vn(2024, 4, 4, 0, 0, 1), False, False, "late"),
        ("not sent, deadline passed", vn(2024, 4, 4, 0, 0, 1), None, False, False, "overdue"),
        ("not sent, before opening", vn(2024, 3, 20), None, False, False, "not_due"),
        ("not sent, open, before deadline", vn(2024, 4, 2), None, False, False, "not_due"),
        ("extended, not sent, within the extension", vn(2024, 4, 8), None, True, False, "extended"),
        ("extended, not sent, past the extension", vn(2024, 4, 12), None, True, False, "overdue"),
        (
            "extended, sent within the extension",
            vn(2024, 4, 12),
            vn(2024, 4, 9),
            True,
            False,
            "on_time",
        ),
        (
            "extended, sent after the extension",
            vn(2024, 4, 20),
            vn(2024, 4, 15),
            True,
            False,
            "late",
        ),
        ("exempt, not sent", vn(2024, 5, 1), None, False, True, "exempt"),
        ("exempt, sent anyway", vn(2024, 5, 1), vn(2024, 4, 2), False, True, "exempt"),
        ("sent after as_of is not yet sent", vn(2024, 4, 2), None, False, False, "not_due"),
    ],
)
def test_each_cell_state_follows_the_one_status_rule(
    case: str,
    as_of: datetime,
    first: datetime | None,
    extended: bool,
    excused: bool,
    expected: str,
) -> None:
    state = _state(as_of=as_of, first=first, extended=extended, excused=excused)
    assert cell_state(state) is CellState(expected), case


def test_rates_follow_dhis2_and_never_pass_100_percent() -> None:
    # 8 items: 1 exempt (sent anyway), 4 on time, 2 late, 1 overdue.
    counts = Counter(
        [CellState.EXEMPT] + [CellState.ON_TIME] * 4 + [CellState.LATE] * 2 + [CellState.OVERDUE]
    )
    rates = rates_of(counts)
    assert (rates.expected, rates.received, rates.on_time) == (7, 6, 4)
    assert rate_vi(rates.reporting_rate) == "85,7 %"
    assert rate_vi(rates.timeliness) == "57,1 %"
    # Every unit sent, several more than once: one item counts once, so 100 %, not more.
    every = rates_of(Counter([CellState.ON_TIME] * 3 + [CellState.LATE]))
    assert every.reporting_rate == 100 and every.timeliness == 75
    # Nothing expected (all exempt): no rate at all, not 0 % and not a division by zero.
    assert rates_of(Counter([CellState.EXEMPT] * 2)).reporting_rate is None
    assert rate_vi(None) == "—"


@pytest.mark.parametrize(
    ("label", "heading"),
    [
        ("2024-Q1", "Quý I/2024"),
        ("2024-Q4", "Quý IV/2024"),
        ("2024-06", "Tháng 6/2024"),
        ("2024-H2", "6 tháng cuối năm 2024"),
        ("2024", "Năm 2024"),
        ("2024-W05", "Tuần 5/2024"),
        ("YC-3", "YC-3"),
    ],
)
def test_periods_are_headed_the_vietnamese_way(label: str, heading: str) -> None:
    assert period_heading(label) == heading


def test_numbers_are_written_the_vietnamese_way() -> None:
    assert count_vi(1735) == "1.735"
    assert rate_vi(87.5) == "87,5 %"
    assert rate_vi(100.0) == "100 %"
