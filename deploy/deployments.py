"""The deployments dondoc serves, with schedules derived from the loaded plans' obligations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from prefect.schedules import Cron, RRule, Schedule
from prefect.types.entrypoint import EntrypointType
from sqlalchemy.orm import Session

from models.plan_years import PlanYear, compilation_days, last_deadlines, plan_years
from schedules.calendar import VN_TZ, WorkCalendar

__all__ = ["build_deployments", "compilation_days", "compile_schedules", "last_deadlines"]

# Every working hour from 07:45: the first run of the day decides and sends the morning's
# messages; later runs retry failed deliveries the same day (the check is idempotent).
# The flow itself skips days off, so the cron stays simple.
DAILY_CHECK_AT = time(7, 45)
DAILY_CHECK_CRON = f"{DAILY_CHECK_AT.minute} {DAILY_CHECK_AT.hour}-16 * * *"
INBOX_CRON = "*/5 * * * *"
COMPILE_AT = time(8, 0)


def compile_schedules(days: Mapping[str, date], *, plan_code: str | None = None) -> list[Schedule]:
    """One single-run schedule per period, carrying its own `period` (and plan) parameter.

    Several plans are scheduled side by side (last year's year report while this year's
    months run), so a schedule names its plan in its parameters and in its slug.
    """
    schedules: list[Schedule] = []
    for label, day in days.items():
        start = f"{day:%Y%m%d}T{COMPILE_AT:%H%M%S}"
        parameters: dict[str, Any] = {"period": label, "send": True}
        if plan_code is not None:
            parameters["plan_code"] = plan_code
        schedules.append(
            RRule(
                f"DTSTART:{start}\nRRULE:FREQ=DAILY;COUNT=1",
                timezone=VN_TZ,
                parameters=parameters,
                slug=f"compile-{plan_code}-{label}" if plan_code else f"compile-{label}",
            )
        )
    return schedules


def plan_schedules(years: list[PlanYear]) -> list[Schedule]:
    """The compilations still to run of every plan whose year is not over, oldest plan first."""
    return [
        schedule
        for year in years
        for schedule in compile_schedules(year.coming(), plan_code=year.plan.code)
    ]


def build_deployments(
    *,
    session: Session,
    calendar: WorkCalendar,
    today: date,
    entrypoint_type: EntrypointType = EntrypointType.FILE_PATH,
) -> list[Any]:
    """What `dondoc serve` runs: daily check, inbox, scheduled and ad-hoc compilation.

    The scheduled compilations are those of every loaded plan whose year is not over as of
    `today` (`models.plan_years`), from today on.

    `dondoc deploy` asks for module-path entrypoints (`flows.compile_report.compile_report`),
    so a worker loads the flows from the installed package, whatever its working directory.
    """
    from flows.check_and_escalate import check_and_escalate
    from flows.collect_submissions import collect_submissions
    from flows.compile_report import compile_report

    scheduled = plan_schedules(plan_years(session=session, calendar=calendar, today=today))
    return [
        check_and_escalate.to_deployment(
            name="daily",
            schedules=[Cron(DAILY_CHECK_CRON, timezone=VN_TZ, slug="working-hours")],
            description="Check who has not reported; remind and escalate (skips days off).",
            entrypoint_type=entrypoint_type,
        ),
        collect_submissions.to_deployment(
            name="inbox",
            schedules=[Cron(INBOX_CRON, timezone=VN_TZ, slug="every-5-minutes")],
            description="Store the files dropped in the inbox folder.",
            entrypoint_type=entrypoint_type,
        ),
        compile_report.to_deployment(
            name="scheduled",
            schedules=scheduled,
            description="Compile each period's consolidated report the day after its deadline.",
            entrypoint_type=entrypoint_type,
        ),
        compile_report.to_deployment(
            name="adhoc",
            description="Compile a consolidated report on demand (any period).",
            entrypoint_type=entrypoint_type,
        ),
    ]
