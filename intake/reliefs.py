"""The office's reliefs of one item (extend its deadline, exempt it): the rules and the audit row.

`dondoc extend` / `dondoc exempt` and the portal's /viec/<id>/gia-han and /viec/<id>/mien go
through these functions, so both refuse the same things in the same Vietnamese words.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from models.items import DueItem
from models.reliefs import ItemRelief, ReliefKind
from schedules.calendar import WorkCalendar
from status.states import grant_relief
from submissions.errors import FieldError, Invalid, NotFound
from submissions.values import ValueProblem, parse_day

# An extension is for weeks, not years: a date further off is a typing slip.
MAX_DAYS_EXTENDED = 366


def item_by_key(key: str, *, session: Session) -> DueItem:
    """The item of a key (`dondoc dues --json`), or NotFound saying so in Vietnamese."""
    item = session.scalars(select(DueItem).where(DueItem.key == key)).one_or_none()
    if item is None:
        raise NotFound("unknown_item", f"Không có báo cáo nào có mã «{key}».")
    return item


def item_by_id(item_id: int, *, session: Session) -> DueItem:
    item = session.get(DueItem, item_id)
    if item is None:
        raise NotFound("unknown_item", f"Không có báo cáo số {item_id}.")
    return item


def read_new_deadline(text: str | None) -> date:
    """The new deadline as typed (20/03/2024 or 2024-03-20); refusals name the field «until»."""
    if text is None or not text.strip():
        raise Invalid([FieldError("until", "required", "Chưa ghi hạn mới (ví dụ 25/03/2024).")])
    try:
        return parse_day(text)
    except ValueProblem as problem:
        raise Invalid([FieldError("until", problem.code, f"Hạn mới: {problem.message}")]) from None


def _reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise Invalid(
            [FieldError("reason", "required", "Chưa ghi lý do (được lưu vào hồ sơ báo cáo).")]
        )
    return reason.strip()


def _check_new_deadline(item: DueItem, until: date) -> None:
    if until < item.deadline_on:
        raise Invalid(
            [
                FieldError(
                    "until",
                    "before_deadline",
                    f"Hạn mới {until:%d/%m/%Y} trước hạn gốc {item.deadline_on:%d/%m/%Y}: "
                    "gia hạn chỉ lùi hạn về sau.",
                )
            ]
        )
    if (until - item.deadline_on).days > MAX_DAYS_EXTENDED:
        raise Invalid(
            [
                FieldError(
                    "until",
                    "too_far",
                    f"Hạn mới {until:%d/%m/%Y} quá xa: gia hạn tối đa {MAX_DAYS_EXTENDED} ngày "
                    f"sau hạn gốc {item.deadline_on:%d/%m/%Y}.",
                )
            ]
        )


def extend_deadline(
    item: DueItem,
    *,
    until: date,
    reason: str | None,
    session: Session,
    actor: Actor,
    now: datetime,
    calendar: WorkCalendar,
    source_address: str | None = None,
) -> ItemRelief:
    """Extend the item's deadline to `until` (rolled to a working day); audited."""
    why = _reason(reason)
    _check_new_deadline(item, until)
    row = grant_relief(
        session=session,
        item=item,
        kind=ReliefKind.EXTENSION,
        reason=why,
        granted_by=actor.label,
        now=now,
        calendar=calendar,
        until=until,
    )
    assert row.deadline_on is not None
    record_event(
        session=session,
        actor=actor,
        action="item.extend",
        object_type="due_item",
        object_id=str(item.id),
        source_address=source_address,
        details={"key": item.key, "until": row.deadline_on.isoformat(), "reason": why},
        now=now,
    )
    return row


def exempt_item(
    item: DueItem,
    *,
    reason: str | None,
    session: Session,
    actor: Actor,
    now: datetime,
    calendar: WorkCalendar,
    source_address: str | None = None,
) -> ItemRelief:
    """Exempt the item (miễn báo cáo): it no longer counts as expected; audited."""
    why = _reason(reason)
    row = grant_relief(
        session=session,
        item=item,
        kind=ReliefKind.EXEMPTION,
        reason=why,
        granted_by=actor.label,
        now=now,
        calendar=calendar,
    )
    record_event(
        session=session,
        actor=actor,
        action="item.exempt",
        object_type="due_item",
        object_id=str(item.id),
        source_address=source_address,
        details={"key": item.key, "reason": why},
        now=now,
    )
    return row
