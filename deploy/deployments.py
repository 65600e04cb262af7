"""The deployments dondoc serves, with schedules derived from the loaded plan's obligations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from typing import Any

from prefect.schedules import Cron, RRule, Schedule
from prefect.types.entrypoint import EntrypointType
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.queries import latest_plan
from schedules.calendar import VN_TZ, WorkCalendar

# Every working hour from 07:45: the first run of the day decides and sends the morning's
# messages; later runs retry failed deliveries the same day (the check is idempotent).
# The flow itself skips days off, so the cron stays simple.
DAILY_CHECK_AT = time(7, 45)
DAILY_CHECK_CRON = f"{DAILY_CHECK_AT.minute} {DAILY_CHECK_AT.hour}-16 * * *"
INBOX_CRON = "*/5 * * * *"
COMPILE_AT = time(8, 0)


def compilation_days(last_deadlines: Mapping[str, date], calendar: WorkCalendar) -> dict[str, date]:
    """Each period is compiled on the first working day after its last deadline."""
    return {label: calendar.next_working_day(day) for label, day in sorted(last_deadlines.items())}


def last_deadlines(*, session: Session, plan_id: int) -> dict[str, date]:
    """The latest deadline day of each periodic report label of a plan, plus the whole year."""
    rows = session.execute(
        select(DueItem.period_label, func.max(DueItem.deadline_on))
        .where(
            DueItem.plan_id == plan_id,
            DueItem.period_label.is_not(None),
            DueItem.obligation_id.is_not(None),
            DueItem.withdrawn_at.is_(None),
        )
        .group_by(DueItem.period_label)
    ).all()
    days = {str(label): day for label, day in rows}
    if days:
        year = min(days)[:4]
        days.setdefault(year, max(days.values()))  # the year-end report after the last deadline
    return days


def compile_schedules(days: Mapping[str, date]) -> list[Schedule]:
    """One single-run schedule per period, carrying its own `period` parameter."""
    schedules: list[Schedule] = []
    for label, day in days.items():
        start = f"{day:%Y%m%d}T{COMPILE_AT:%H%M%S}"
        schedules.append(
            RRule(
                f"DTSTART:{start}\nRRULE:FREQ=DAILY;COUNT=1",
                timezone=VN_TZ,
                parameters={"period": label, "send": True},
                slug=f"compile-{label}",
            )
        )
    return schedules


def build_deployments(
    *,
    session: Session,
    calendar: WorkCalendar,
    entrypoint_type: EntrypointType = EntrypointType.FILE_PATH,
) -> list[Any]:
    """What `dondoc serve` runs: daily check, inbox, scheduled and ad-hoc compilation.

    `dondoc deploy` asks for module-path entrypoints (`flows.compile_report.compile_report`),
    so a worker loads the flows from the installed package, whatever its working directory.
    """
    from flows.check_and_escalate import check_and_escalate
    from flows.collect_submissions import collect_submissions
    from flows.compile_report import compile_report

    plan = latest_plan(session=session)
    days = (
        compilation_days(last_deadlines(session=session, plan_id=plan.id), calendar) if plan else {}
    )
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
            schedules=compile_schedules(days),
            description="Compile each period's consolidated report the day after its deadline.",
            entrypoint_type=entrypoint_type,
        ),
        compile_report.to_deployment(
            name="adhoc",
            description="Compile a consolidated report on demand (any period).",
            entrypoint_type=entrypoint_type,
        ),
    ]
