"""Compilations are scheduled the first working day after each period's last deadline."""

from __future__ import annotations

from datetime import date

import pytest

from deploy.deployments import compilation_days, compile_schedules
from schedules.calendar import WorkCalendar


@pytest.mark.parametrize(
    ("label", "last_deadline", "compile_on"),
    [
        ("2024-03", date(2024, 3, 19), date(2024, 3, 20)),  # Tue -> Wed
        ("2024-Q1", date(2024, 3, 22), date(2024, 3, 25)),  # Fri -> Mon
        ("2024-01", date(2024, 2, 7), date(2024, 2, 15)),  # Wed before Tết -> Thu after
        ("2024-04", date(2024, 4, 26), date(2024, 5, 2)),  # Fri -> 29/4, 30/4, 1/5 off -> Thu
        ("2024-Q2", date(2024, 5, 3), date(2024, 5, 4)),  # Fri -> make-up Saturday 4/5
    ],
)
def test_compilation_day(label: str, last_deadline: date, compile_on: date) -> None:
    assert compilation_days({label: last_deadline}, WorkCalendar()) == {label: compile_on}


def test_each_period_gets_its_own_schedule_and_parameters() -> None:
    schedules = compile_schedules({"2024-03": date(2024, 3, 20), "2024-Q1": date(2024, 3, 25)})
    assert [s.parameters for s in schedules] == [
        {"period": "2024-03", "send": True},
        {"period": "2024-Q1", "send": True},
    ]
    assert all(s.timezone == "Asia/Ho_Chi_Minh" for s in schedules)
    assert "DTSTART:20240325T080000" in schedules[1].rrule  # type: ignore[attr-defined]
