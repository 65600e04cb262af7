"""Ad-hoc requests (báo cáo đột xuất, giao việc): an admin asks units for a report or a product.

A request becomes ordinary items due (kind report or deliverable, period label "YC-<n>", key
"request:<id>:<unit>"), so submissions, status, escalation and compilation treat it like the
plan's own items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from models.adhoc import AdHocRequest
from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, ObligationTarget, Plan, Target
from plans.vocabulary import ItemKind, ObligationKind
from schedules.calendar import WorkCalendar, as_date, local_date
from schedules.deadlines import DeadlineKind, DeadlineRule, deadline_date, deadline_instant
from schedules.periods import Window, WindowConvention
from submissions.content import DEFAULT_SECTIONS
from submissions.errors import FieldError, Invalid

MAX_WORKING_DAYS = 60
# An ad-hoc request is for the months ahead; a date years away is a typing slip (9999-12-31
# would also overflow the calendar arithmetic that rolls a deadline onto a working day).
MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class RequestSpec:
    """What the admin asks for. Units: listed codes, every unit of the given kinds and/or every
    unit directly under the given parent units."""

    kind: ItemKind
    title: str
    units: tuple[str, ...] = ()
    unit_kinds: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    obligation: str | None = None  # reuse an ad-hoc obligation of the plan
    targets: tuple[tuple[str, bool], ...] = ()  # (target code, required)
    sections: tuple[str, ...] = ()
    due_on: date | None = None
    within_working_days: int | None = None
    recipient: str | None = None
    instructions: str | None = None
    plan: str | None = None


@dataclass(frozen=True)
class CreatedRequest:
    request_id: int
    label: str
    kind: str
    code: str  # the obligation or deliverable code units submit against
    deadline_on: date
    deadline_at: datetime
    units: tuple[str, ...]
    item_ids: tuple[int, ...]


def _deadline(
    spec: RequestSpec, today: date, calendar: WorkCalendar, errors: list[FieldError]
) -> tuple[date, datetime] | None:
    if (spec.due_on is None) == (spec.within_working_days is None):
        errors.append(
            FieldError(
                "deadline",
                "required",
                "Ghi hạn nộp: một ngày cụ thể hoặc số ngày làm việc (chỉ một trong hai).",
            )
        )
        return None
    if spec.within_working_days is not None:
        n = spec.within_working_days
        if not 1 <= n <= MAX_WORKING_DAYS:
            errors.append(
                FieldError(
                    "within_working_days",
                    "out_of_range",
                    f"Số ngày làm việc phải từ 1 đến {MAX_WORKING_DAYS}.",
                )
            )
            return None
        rule = DeadlineRule(kind=DeadlineKind.WORKING_DAYS_AFTER, n=n)
        day = deadline_date(rule, Window(as_date(today), as_date(today)), today, calendar)
        return day, deadline_instant(rule, day)
    assert spec.due_on is not None
    if spec.due_on.toordinal() - today.toordinal() > MAX_DAYS_AHEAD:
        errors.append(
            FieldError(
                "due_on",
                "too_far",
                f"Hạn nộp {spec.due_on:%d/%m/%Y} quá xa: yêu cầu đột xuất có hạn trong vòng "
                f"{MAX_DAYS_AHEAD} ngày kể từ hôm nay ({today:%d/%m/%Y}).",
            )
        )
        return None
    rule = DeadlineRule(kind=DeadlineKind.FIXED_DATE, on=spec.due_on)
    day = deadline_date(rule, Window(as_date(today), as_date(today)), today, calendar)
    if day < today:
        errors.append(FieldError("due_on", "in_past", f"Hạn nộp {spec.due_on:%d/%m/%Y} đã qua."))
        return None
    return day, deadline_instant(rule, day)


def _units(
    spec: RequestSpec,
    reused: Obligation | None,
    deadline_day: date | None,
    *,
    session: Session,
    errors: list[FieldError],
) -> list[Unit]:
    chosen: dict[str, Unit] = {}
    if spec.units:
        found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(spec.units)))}
        for code in spec.units:
            if code not in found:
                errors.append(FieldError("units", "unknown_unit", f"Không có đơn vị mã «{code}»."))
            else:
                chosen[code] = found[code]
    if spec.unit_kinds:
        for unit in session.scalars(select(Unit).where(Unit.kind.in_(spec.unit_kinds))):
            chosen.setdefault(unit.code, unit)
    if spec.parents:
        _add_children(spec.parents, chosen, session=session, errors=errors)
    if not spec.units and not spec.unit_kinds and not spec.parents and reused is not None:
        chosen = {u.code: u for u in reused.reporters}
    if deadline_day is not None:
        for code, unit in list(chosen.items()):
            if not unit.existed_during(deadline_day, deadline_day):
                if code in spec.units:
                    errors.append(
                        FieldError(
                            "units",
                            "unit_not_existing",
                            f"Đơn vị «{code}» không còn tồn tại vào hạn nộp.",
                        )
                    )
                del chosen[code]
    if not chosen and not any(e.field == "units" for e in errors):
        errors.append(FieldError("units", "required", "Chưa chọn đơn vị nào phải thực hiện."))
    return [chosen[c] for c in sorted(chosen)]


def _add_children(
    parents: tuple[str, ...], chosen: dict[str, Unit], *, session: Session, errors: list[FieldError]
) -> None:
    """Every unit directly under each parent; an unknown parent is named."""
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(parents)))}
    for code in parents:
        if code not in found:
            errors.append(FieldError("parents", "unknown_unit", f"Không có đơn vị mã «{code}»."))
    ids = [u.id for u in found.values()]
    for unit in session.scalars(select(Unit).where(Unit.parent_id.in_(ids))):
        chosen.setdefault(unit.code, unit)


def create_request(
    spec: RequestSpec,
    *,
    session: Session,
    actor: Actor,
    now: datetime,
    calendar: WorkCalendar,
    source_address: str | None = None,
) -> CreatedRequest:
    """Record the request and its items due; raises Invalid listing every problem."""
    checked = _check(spec, session=session, now=now, calendar=calendar)
    label, code = _next_label(checked.plan, session=session)
    obligation, deliverable = _add_source(spec, checked, code, session=session)
    request = AdHocRequest(
        plan_id=checked.plan.id,
        label=label,
        kind=spec.kind.value,
        title=spec.title.strip(),
        instructions=spec.instructions,
        obligation_id=obligation.id if obligation else None,
        deliverable_id=deliverable.id if deliverable else None,
        recipient_unit_id=checked.recipient_id,
        deadline_on=checked.day,
        deadline_at=checked.instant,
        within_working_days=spec.within_working_days,
        requested_by=actor.label,
        requested_at=now,
    )
    session.add(request)
    session.flush()
    items = _add_items(request, checked, session=session, now=now)
    record_event(
        session=session,
        actor=actor,
        action="request.create",
        object_type="adhoc_request",
        object_id=str(request.id),
        source_address=source_address,
        details={
            "label": label,
            "kind": spec.kind.value,
            "title": request.title,
            "units": [u.code for u in checked.units],
            "deadline_on": checked.day.isoformat(),
            "within_working_days": spec.within_working_days,
        },
        now=now,
    )
    return CreatedRequest(
        request_id=request.id,
        label=label,
        kind=spec.kind.value,
        code=(obligation.code if obligation else deliverable.code if deliverable else code),
        deadline_on=checked.day,
        deadline_at=checked.instant,
        units=tuple(u.code for u in checked.units),
        item_ids=tuple(i.id for i in items),
    )


@dataclass(frozen=True)
class _Checked:
    """A request that passed every check, with what creating it needs."""

    plan: Plan
    reused: Obligation | None
    targets: dict[str, Target]
    recipient_id: int
    units: list[Unit]
    day: date
    instant: datetime


def _check(
    spec: RequestSpec, *, session: Session, now: datetime, calendar: WorkCalendar
) -> _Checked:
    """Every check of the request, in the form's order; raises Invalid listing every problem."""
    plan = _plan(spec, session=session)
    errors: list[FieldError] = []
    if not spec.title.strip():
        errors.append(FieldError("title", "required", "Chưa ghi tên báo cáo hoặc nhiệm vụ."))
    deadline = _deadline(spec, local_date(now), calendar, errors)
    reused = _reused_obligation(spec, plan, session=session, errors=errors)
    if spec.kind is ItemKind.DELIVERABLE and (spec.targets or spec.sections):
        errors.append(
            FieldError(
                "targets",
                "not_for_deliverable",
                "Giao việc không có chỉ tiêu hay phần nội dung: đơn vị báo cáo tình trạng.",
            )
        )
    targets = _targets(spec, plan, session=session, errors=errors)
    recipient_id = _recipient_id(spec, plan, reused, session=session, errors=errors)
    units = _units(spec, reused, deadline[0] if deadline else None, session=session, errors=errors)
    if errors or deadline is None:
        raise Invalid(errors, "Yêu cầu chưa hợp lệ.")
    day, instant = deadline
    return _Checked(plan, reused, targets, recipient_id, units, day, instant)


def _plan(spec: RequestSpec, *, session: Session) -> Plan:
    """The named plan, or the newest one."""
    plan_query = select(Plan).order_by(Plan.year.desc(), Plan.id.desc())
    if spec.plan:
        plan_query = plan_query.where(Plan.code == spec.plan)
    plan = session.scalars(plan_query.limit(1)).first()
    if plan is None:
        raise Invalid([FieldError("plan", "unknown_plan", "Chưa nạp kế hoạch nào.")])
    return plan


def _reused_obligation(
    spec: RequestSpec, plan: Plan, *, session: Session, errors: list[FieldError]
) -> Obligation | None:
    """The plan's ad-hoc obligation the request reuses, if it names one."""
    if not spec.obligation:
        return None
    reused = session.scalars(
        select(Obligation).where(Obligation.plan_id == plan.id, Obligation.code == spec.obligation)
    ).one_or_none()
    if spec.kind is not ItemKind.REPORT:
        errors.append(
            FieldError("obligation", "not_a_report", "Chỉ dùng mã báo cáo cho yêu cầu báo cáo.")
        )
    elif reused is None:
        errors.append(
            FieldError(
                "obligation",
                "unknown_obligation",
                f"Không có báo cáo mã «{spec.obligation}».",
            )
        )
    elif reused.kind == ObligationKind.PERIODIC:
        errors.append(
            FieldError(
                "obligation",
                "periodic",
                f"«{reused.code}» là báo cáo định kỳ: chỉ dùng báo cáo đột xuất hoặc chuyên đề.",
            )
        )
    if spec.targets or spec.sections:
        errors.append(
            FieldError(
                "targets",
                "from_obligation",
                "Chỉ tiêu và các phần nội dung lấy theo báo cáo đã chọn, không ghi thêm.",
            )
        )
    return reused


def _targets(
    spec: RequestSpec, plan: Plan, *, session: Session, errors: list[FieldError]
) -> dict[str, Target]:
    """The plan's targets the request asks for, by code."""
    if not spec.targets:
        return {}
    codes = [c for c, _ in spec.targets]
    targets = {
        t.code: t
        for t in session.scalars(
            select(Target).where(Target.plan_id == plan.id, Target.code.in_(codes))
        )
    }
    errors += [
        FieldError("targets", "unknown_target", f"Không có chỉ tiêu mã «{c}».")
        for c in codes
        if c not in targets
    ]
    return targets


def _recipient_id(
    spec: RequestSpec,
    plan: Plan,
    reused: Obligation | None,
    *,
    session: Session,
    errors: list[FieldError],
) -> int:
    """The unit receiving the results: the named one, else the reused obligation's or issuer's."""
    recipient_id = reused.recipient_unit_id if reused is not None else plan.issuer_unit_id
    if spec.recipient:
        recipient = session.scalars(select(Unit).where(Unit.code == spec.recipient)).first()
        if recipient is None:
            errors.append(
                FieldError("recipient", "unknown_unit", f"Không có đơn vị mã «{spec.recipient}».")
            )
        else:
            recipient_id = recipient.id
    return recipient_id


def _next_label(plan: Plan, *, session: Session) -> tuple[str, str]:
    """The plan's next request label ("YC-<n>") and the code it gives a new source."""
    number = (
        session.scalar(
            select(func.count()).select_from(AdHocRequest).where(AdHocRequest.plan_id == plan.id)
        )
        or 0
    ) + 1
    label = f"YC-{number}"
    code = label.lower()
    taken = session.scalar(
        select(func.count())
        .select_from(Obligation)
        .where(Obligation.plan_id == plan.id, Obligation.code == code)
    ) or session.scalar(
        select(func.count())
        .select_from(Deliverable)
        .where(Deliverable.plan_id == plan.id, Deliverable.code == code)
    )
    if taken:
        raise Invalid([FieldError("label", "taken", f"Mã «{code}» đã có trong kế hoạch.")])
    return label, code


def _add_source(
    spec: RequestSpec, checked: _Checked, code: str, *, session: Session
) -> tuple[Obligation | None, Deliverable | None]:
    """The obligation or deliverable units submit against: reused, or added under `code`."""
    obligation: Obligation | None = checked.reused
    deliverable: Deliverable | None = None
    if spec.kind is ItemKind.REPORT and obligation is None:
        obligation = Obligation(
            plan_id=checked.plan.id,
            code=code,
            title=spec.title.strip(),
            kind=ObligationKind.AD_HOC.value,
            cadence=None,
            window_convention=WindowConvention.CALENDAR.value,
            deadline_rule={"kind": DeadlineKind.FIXED_DATE.value, "on": checked.day.isoformat()},
            recipient_unit_id=checked.recipient_id,
            narrative_sections=list(spec.sections or DEFAULT_SECTIONS),
            escalation=[],
            basis=spec.instructions,
            reporters=checked.units,
            targets=[
                ObligationTarget(target_id=checked.targets[c].id, position=i, required=required)
                for i, (c, required) in enumerate(spec.targets)
            ],
        )
        session.add(obligation)
    elif spec.kind is ItemKind.DELIVERABLE:
        deliverable = Deliverable(
            plan_id=checked.plan.id,
            code=code,
            title=spec.title.strip(),
            description=spec.instructions,
            recipient_unit_id=checked.recipient_id,
            due_on=checked.day,
            escalation=[],
            assignees=checked.units,
        )
        session.add(deliverable)
    session.flush()
    return obligation, deliverable


def _add_items(
    request: AdHocRequest, checked: _Checked, *, session: Session, now: datetime
) -> list[DueItem]:
    """One item due per unit, open from now to the request's deadline."""
    items = [
        DueItem(
            key=f"request:{request.id}:{unit.code}",
            plan_id=request.plan_id,
            kind=request.kind,
            obligation_id=request.obligation_id,
            deliverable_id=request.deliverable_id,
            unit_id=unit.id,
            period_label=request.label,
            window_start=local_date(now),
            window_end=checked.day,
            deadline_on=checked.day,
            deadline_at=checked.instant,
            opens_at=now,
        )
        for unit in checked.units
    ]
    session.add_all(items)
    session.flush()
    return items


def list_requests(*, session: Session) -> list[AdHocRequest]:
    """Every ad-hoc request, newest first."""
    return list(session.scalars(select(AdHocRequest).order_by(AdHocRequest.requested_at.desc())))
