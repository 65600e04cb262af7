"""Several plans side by side: each keeps its compilations until its year report is compiled,
and a unit whose validity ends mid-year does not move the year report."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from deploy.deployments import build_deployments
from models.calendar import load_calendar
from models.db import transaction
from models.plan_years import past_plan_warnings, plan_years
from plan_sync.sync import load_plan
from plans import CAO_LOC_2024
from plans.loader import parse_plan, read_plan

DATA = Path(__file__).parent.parent / "data"
MINI_2024 = DATA / "mini-plan.yaml"
MINI_2025 = DATA / "plans" / "mini-2025.yaml"
REFORM_2025 = DATA / "plans" / "commune-2025-reform.yaml"
LOADED = datetime(2024, 1, 5, 1, 0, tzinfo=UTC)


def _load(engine: Engine, *texts: str) -> None:
    for text in texts:
        with transaction(engine) as session:
            load_plan(parse_plan(text), session=session, now=LOADED)


def _scheduled(engine: Engine, today: date) -> dict[str, tuple[str, dict[str, Any]]]:
    """The compile-report/scheduled schedules by slug: (rrule, parameters)."""
    with Session(engine) as session:
        built = build_deployments(
            session=session, calendar=load_calendar(session=session), today=today
        )
    [scheduled] = [d for d in built if d.name == "scheduled"]
    slugs = [s.slug for s in scheduled.schedules]
    assert len(slugs) == len(set(slugs)), "schedule slugs must be unique across plans"
    return {s.slug: (s.schedule.rrule, s.parameters) for s in scheduled.schedules}


def test_loading_next_years_plan_keeps_this_years_remaining_compilations(engine: Engine) -> None:
    _load(engine, MINI_2024.read_text(encoding="utf-8"), MINI_2025.read_text(encoding="utf-8"))
    schedules = _scheduled(engine, date(2024, 12, 10))  # next year's plan loaded in December

    # 2024: December and the year report are still to come (deadline 17/12, compiled 18/12).
    assert schedules["compile-mini-2024-2024"] == (
        "DTSTART:20241218T080000\nRRULE:FREQ=DAILY;COUNT=1",
        {"period": "2024", "send": True, "plan_code": "mini-2024"},
    )
    assert schedules["compile-mini-2024-2024-12"][1]["plan_code"] == "mini-2024"
    assert "compile-mini-2024-2024-11" not in schedules  # compiled in November: gone
    # 2025: every month and the year report.
    months_2025 = {f"compile-mini-2025-2025-{m:02d}" for m in range(1, 13)}
    assert months_2025 | {"compile-mini-2025-2025"} <= schedules.keys()
    assert schedules["compile-mini-2025-2025-03"][1] == {
        "period": "2025-03",
        "send": True,
        "plan_code": "mini-2025",
    }
    assert {key for key in schedules if "mini-2024" in key} == {
        "compile-mini-2024-2024-12",
        "compile-mini-2024-2024",
    }


def test_a_plan_whose_year_report_is_compiled_leaves_the_schedules(engine: Engine) -> None:
    _load(engine, MINI_2024.read_text(encoding="utf-8"), MINI_2025.read_text(encoding="utf-8"))
    schedules = _scheduled(engine, date(2024, 12, 19))  # the 2024 year report ran on 18/12
    assert not [key for key in schedules if "mini-2024" in key]
    assert "compile-mini-2025-2025-01" in schedules


def test_units_ending_mid_year_do_not_move_the_year_report(engine: Engine) -> None:
    # Both communes (the only reporters) end on 30/06: no item falls due after June.
    text = MINI_2024.read_text(encoding="utf-8").replace(
        "    kind: commune\n    parent: ubnd\n  - code: xa-hai",
        "    kind: commune\n    parent: ubnd\n    valid_to: 2024-06-30\n  - code: xa-hai",
    )
    assert text.count("valid_to: 2024-06-30") == 2
    _load(engine, text)
    schedules = _scheduled(engine, date(2024, 1, 2))
    assert "compile-mini-2024-2024-07" not in schedules  # nobody reports July
    # The year report still follows December's deadline (17/12/2024), not June's.
    assert schedules["compile-mini-2024-2024"][0].startswith("DTSTART:20241218T080000")


def test_the_year_report_follows_the_last_report_of_the_year(engine: Engine) -> None:
    # A yearly report due 17/11 must not bring the year report before December's monthly
    # report (due 07/01/2026 under this plan's rule).
    _load(engine, REFORM_2025.read_text(encoding="utf-8"))
    schedules = _scheduled(engine, date(2025, 1, 2))
    assert schedules["compile-giam-ngheo-2025-2025"][0].startswith("DTSTART:20260108T080000")


def test_only_a_past_newest_plan_is_warned_about(engine: Engine) -> None:
    _load(engine, MINI_2024.read_text(encoding="utf-8"))
    with Session(engine) as session:
        calendar = load_calendar(session=session)
        during = past_plan_warnings(
            plan_years(session=session, calendar=calendar, today=date(2024, 12, 18))
        )
        after = past_plan_warnings(
            plan_years(session=session, calendar=calendar, today=date(2026, 12, 3))
        )
    assert during == []
    assert after == [
        "Kế hoạch mini-2024 (năm 2024) đã hết năm: ngày tổng hợp báo cáo năm (18/12/2024) đã qua; "
        "không lịch tổng hợp nào của kế hoạch này còn chạy và việc của nó không được nhắc, đôn "
        "đốc nữa. Hãy nạp kế hoạch năm 2026: dondoc init --plan TỆP-KẾ-HOẠCH.yaml, rồi chạy lại "
        "dondoc deploy."
    ]
    _load(engine, MINI_2025.read_text(encoding="utf-8"))
    with Session(engine) as session:
        years = plan_years(session=session, calendar=calendar, today=date(2025, 3, 3))
    assert past_plan_warnings(years) == []  # the 2024 plan is history once 2025's is loaded


def test_the_sample_plans_compilations_as_of_its_issue(engine: Engine) -> None:
    with transaction(engine) as session:
        load_plan(read_plan(CAO_LOC_2024), session=session, now=LOADED)
    schedules = _scheduled(engine, date(2024, 1, 26))
    assert {params["period"] for _, params in schedules.values()} == {
        # No January: the plan, issued 25/01/2024, owes no report due before it (16/01).
        *(f"2024-{m:02d}" for m in range(2, 13)),
        *(f"2024-Q{q}" for q in range(1, 5)),
        "2024",
    }
    # The last Q1 deadline is the department's report on Mon 18/3: compiled on Tue 19/3.
    rrule, params = schedules["compile-cao-loc-2024-ldtbxh-2024-Q1"]
    assert rrule.startswith("DTSTART:20240319T080000")
    assert params == {"period": "2024-Q1", "send": True, "plan_code": "cao-loc-2024-ldtbxh"}
    assert schedules["compile-cao-loc-2024-ldtbxh-2024"][0].startswith("DTSTART:20241219T080000")
