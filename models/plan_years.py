"""A plan's year: when each period is compiled, and whether the year is still open or over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.plan import Obligation, Plan
from plans.schema import DeadlineEntry
from plans.vocabulary import ObligationKind
from schedules.calendar import WorkCalendar
from schedules.deadlines import deadline_date
from schedules.periods import Cadence, WindowConvention, periods_in_year


def last_deadlines(*, session: Session, plan: Plan, calendar: WorkCalendar) -> dict[str, date]:
    """The latest deadline day of each periodic report label of a plan, plus the whole year.

    A period's day comes from its items. The year report's day does not: it is the last
    deadline of any period of the year as the plan's obligations set it, whichever units still
    exist then (a unit whose validity ends mid-year owes nothing after it, which must not move
    the year report to mid-year), and never before a yearly obligation's own deadline.
    """
    rows = session.execute(
        select(DueItem.period_label, func.max(DueItem.deadline_on))
        .where(
            DueItem.plan_id == plan.id,
            DueItem.period_label.is_not(None),
            DueItem.obligation_id.is_not(None),
            DueItem.withdrawn_at.is_(None),
        )
        .group_by(DueItem.period_label)
    ).all()
    days = {str(label): day for label, day in rows}
    year_end = [
        *days.values(),
        *_obligation_year_ends(session=session, plan=plan, calendar=calendar),
    ]
    if year_end:
        days[str(plan.year)] = max(year_end)
    return days


def _obligation_year_ends(*, session: Session, plan: Plan, calendar: WorkCalendar) -> list[date]:
    """Each periodic obligation's last deadline in the plan's year, from its rule alone."""
    ends: list[date] = []
    for o in session.scalars(
        select(Obligation).where(
            Obligation.plan_id == plan.id, Obligation.kind == ObligationKind.PERIODIC.value
        )
    ):
        if o.cadence is None or o.deadline_rule is None:
            continue
        rule = DeadlineEntry.model_validate(o.deadline_rule).to_rule()
        periods = [
            p
            for p in periods_in_year(Cadence(o.cadence), plan.year)
            if not (o.starts_on and p.end < o.starts_on) and not (o.ends_on and p.start > o.ends_on)
        ]
        if periods:
            last = periods[-1]
            window = last.window(WindowConvention(o.window_convention))
            ends.append(deadline_date(rule, window, last.end, calendar))
    return ends


def compilation_days(last: dict[str, date], calendar: WorkCalendar) -> dict[str, date]:
    """Each period is compiled on the first working day after its last deadline."""
    return {label: calendar.next_working_day(day) for label, day in sorted(last.items())}


@dataclass(frozen=True)
class PlanYear:
    """One loaded plan's compilation days, and whether its year is over as of a day."""

    plan: Plan
    compile_on: dict[str, date]
    today: date

    @property
    def year_report_on(self) -> date | None:
        """The day the year report is compiled (None: the plan has no periodic report)."""
        return self.compile_on.get(str(self.plan.year))

    @property
    def over(self) -> bool:
        """The year report is compiled (its day has passed), or the plan has no report and its
        year has ended: nothing of the plan is chased or scheduled any more."""
        if self.year_report_on is None:
            return self.today.year > self.plan.year
        return self.today > self.year_report_on

    def coming(self) -> dict[str, date]:
        """The compilations still to run: today's and later ones, none once the year is over."""
        if self.over:
            return {}
        return {label: day for label, day in self.compile_on.items() if day >= self.today}

    def summary(self) -> str:
        """One line for `dondoc deploy` (Vietnamese): what of the plan is still scheduled."""
        head = f"Kế hoạch {self.plan.code} (năm {self.plan.year})"
        coming = self.coming()
        if not coming:
            return f"{head}: không còn lịch tổng hợp nào."
        year_report = self.year_report_on
        tail = (
            f"; báo cáo năm ngày {year_report:%d/%m/%Y}" if year_report in coming.values() else ""
        )
        return (
            f"{head}: còn {len(coming)} lần tổng hợp theo lịch, lần đầu ngày "
            f"{min(coming.values()):%d/%m/%Y}{tail}."
        )

    def warning(self) -> str | None:
        """What an admin reads when the plan's year is over (Vietnamese), else None."""
        if not self.over:
            return None
        done = (
            f"ngày tổng hợp báo cáo năm ({self.year_report_on:%d/%m/%Y}) đã qua"
            if self.year_report_on
            else f"năm {self.plan.year} đã kết thúc"
        )
        next_year = max(self.plan.year + 1, self.today.year)
        return (
            f"Kế hoạch {self.plan.code} (năm {self.plan.year}) đã hết năm: {done}; không lịch "
            "tổng hợp nào của kế hoạch này còn chạy và việc của nó không được nhắc, đôn đốc nữa. "
            f"Hãy nạp kế hoạch năm {next_year}: dondoc init --plan TỆP-KẾ-HOẠCH.yaml, "
            "rồi chạy lại dondoc deploy."
        )


def past_plan_warnings(years: list[PlanYear]) -> list[str]:
    """The warnings `dondoc init` and `dondoc deploy` print: one per plan whose year is over
    and that no later plan has followed yet (a 2024 plan after the 2025 one is loaded is just
    history)."""
    newest = max((y.plan.year for y in years), default=None)
    return [
        warning for y in years if y.plan.year == newest and (warning := y.warning()) is not None
    ]


def plan_years(*, session: Session, calendar: WorkCalendar, today: date) -> list[PlanYear]:
    """Every loaded plan's year, oldest first: the one rule of which plans are still open."""
    plans = session.scalars(select(Plan).order_by(Plan.year, Plan.id)).all()
    return [
        PlanYear(
            plan=plan,
            compile_on=compilation_days(
                last_deadlines(session=session, plan=plan, calendar=calendar), calendar
            ),
            today=today,
        )
        for plan in plans
    ]


def closed_plan_ids(*, session: Session, calendar: WorkCalendar, today: date) -> set[int]:
    """The plans whose year is over as of `today`: their items are no longer chased."""
    return {
        y.plan.id for y in plan_years(session=session, calendar=calendar, today=today) if y.over
    }
