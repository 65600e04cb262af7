"""What the API and the pages both show: items with status, an item's form, templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from access.actor import Actor
from access.scope import item_condition, may_see_unit
from intake.address import form_spec, get_item
from intake.locks import check_open
from models.calendar import load_calendar
from models.items import DueItem
from models.org import Unit
from models.queries import latest_accepted
from status.states import STATUS_VI, ItemState, ItemStatus, item_states
from submissions.content import FormSpec
from submissions.errors import Conflict, Forbidden
from submissions.spreadsheet import TemplateHeader, csv_template, xlsx_template
from wording.collation import sort_key

# Items that open within this horizon are listed so an officer can prepare.
UPCOMING = timedelta(days=31)
ADMIN_LIST_LIMIT = 500
# People whose scope reaches beyond one unit: their lists are capped like the office's.
WIDE_ROLES = frozenset({"unit_head", "leader_in_charge"})


def list_items(
    *,
    session: Session,
    actor: Actor,
    now: datetime,
    period: str | None = None,
    obligation: str | None = None,
    unit: str | None = None,
    status: str | None = None,
    upcoming_only: bool = False,
) -> list[ItemState]:
    """The items in the actor's scope (access.scope) with their status, in one query."""
    where = None
    if not actor.is_admin:
        if unit is not None and not _may_see_unit_code(actor, unit, session=session):
            raise Forbidden("forbidden_unit", _unit_refusal(actor))
        where = item_condition(actor)
        if unit is None and actor.person_role not in WIDE_ROLES:
            unit = actor.unit_code  # one unit's items: the query slices by it
    states = item_states(
        session=session,
        as_of=now,
        calendar=load_calendar(session=session),
        period=period,
        obligation=obligation,
        unit=unit,
        where=where,
    )
    if status is not None:
        states = [s for s in states if s.status.value == status]
    if upcoming_only:
        states = [s for s in states if s.opens_at <= now + UPCOMING]
    # Units of one deadline in Vietnamese alphabetical order (the query orders by code).
    states.sort(key=lambda s: (s.deadline_at, sort_key(s.unit_name), s.item_id))
    if actor.is_admin or actor.person_role in WIDE_ROLES:
        states = states[:ADMIN_LIST_LIMIT]
    return states


def _may_see_unit_code(actor: Actor, code: str, *, session: Session) -> bool:
    if code == actor.unit_code:
        return True
    unit_id = session.scalar(select(Unit.id).where(Unit.code == code))
    return unit_id is not None and may_see_unit(actor, unit_id, session=session)


def _unit_refusal(actor: Actor) -> str:
    if actor.person_role in WIDE_ROLES:
        return "Đơn vị này không thuộc phạm vi theo dõi của anh/chị."
    return "Mã truy cập này chỉ xem được báo cáo của đơn vị mình."


def status_vi(state: ItemState) -> str:
    return STATUS_VI[state.status]


def is_submitted(state: ItemState) -> bool:
    return state.status in (ItemStatus.SUBMITTED_ON_TIME, ItemStatus.SUBMITTED_LATE)


@dataclass(frozen=True)
class ItemView:
    """One item as its form page and the API's detail show it."""

    item_id: int
    state: ItemState
    spec: FormSpec
    latest_receipt_no: str | None
    latest_version: int | None
    closed: Conflict | None  # why the item takes no submission now, if it does not


def item_view(item_id: int, *, session: Session, actor: Actor, now: datetime) -> ItemView:
    item = get_item(item_id, session=session, actor=actor)
    states = item_states(
        session=session,
        as_of=now,
        calendar=load_calendar(session=session),
        item_ids=[item.id],
    )
    state = states[0] if states else _withdrawn_state(item, now)
    latest = latest_accepted([item.id], session=session).get(item.id)
    try:
        check_open(item, session=session, now=now)
        closed = None
    except Conflict as refusal:
        closed = refusal
    return ItemView(
        item_id=item.id,
        state=state,
        spec=form_spec(item, session=session),
        latest_receipt_no=latest.receipt_no if latest else None,
        latest_version=latest.version if latest else None,
        closed=closed,
    )


def _withdrawn_state(item: DueItem, now: datetime) -> ItemState:
    # item_states leaves withdrawn items out; the page still shows what the item was.
    code, title = (
        (item.obligation.code, item.obligation.title)
        if item.obligation
        else (item.deliverable.code, item.deliverable.title)
        if item.deliverable
        else ("", "")
    )
    return ItemState(
        item_id=item.id,
        key=item.key,
        kind=item.kind,
        unit_id=item.unit_id,
        unit_code=item.unit.code,
        unit_name=item.unit.name,
        source_code=code,
        source_title=title,
        period_label=item.period_label,
        opens_at=item.opens_at,
        deadline_at=item.deadline_at,
        deadline_on=item.deadline_on,
        extended=False,
        first_accepted_at=None,
        status=ItemStatus.NOT_YET_OPEN if now < item.opens_at else ItemStatus.OPEN,
        working_days_overdue=0,
    )


def item_template(
    item_id: int, fmt: str, *, session: Session, actor: Actor
) -> tuple[bytes, str, str]:
    """(bytes, media type, file name) of the item's template, unit and period filled in."""
    item = get_item(item_id, session=session, actor=actor)
    spec = form_spec(item, session=session)
    source = item.obligation or item.deliverable
    assert source is not None
    header = TemplateHeader(
        source_code=source.code,
        title=source.title,
        kind=spec.kind,
        unit=item.unit.code,
        period=item.period_label,
    )
    stem = "__".join(p for p in (item.unit.code, source.code, item.period_label) if p)
    if fmt == "csv":
        return csv_template(header, spec), "text/csv; charset=utf-8", f"{stem}.csv"
    return (
        xlsx_template(header, spec),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{stem}.xlsx",
    )
