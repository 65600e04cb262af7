"""Which item a submission is for, and the form it must fill (addressing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.orm import Session, contains_eager

from access.actor import Actor
from access.scope import may_see_item
from intake.locks import lock_item
from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, ObligationTarget, Plan, Target
from plans.vocabulary import ItemKind, TargetKind
from submissions.content import (
    FormSpec,
    TargetSpec,
)
from submissions.errors import FieldError, Forbidden, Invalid, NotFound

# ---------------------------------------------------------------- finding the item

MAX_ID = 2**31 - 1  # INTEGER primary keys


@dataclass(frozen=True)
class ItemAddress:
    """Which item a submission is for: its id, or unit + obligation/deliverable code + period."""

    item_id: int | None = None
    unit: str | None = None
    source: str | None = None
    period: str | None = None


def source_of(item: DueItem) -> tuple[str, str]:
    """(code, title) of the item's obligation or deliverable."""
    if item.obligation is not None:
        return item.obligation.code, item.obligation.title
    assert item.deliverable is not None
    return item.deliverable.code, item.deliverable.title


@dataclass(frozen=True)
class _ItemQueries:
    """The item by id, by unit and source code, and by those and period; built once."""

    by_id: Select[DueItem]
    by_codes: Select[DueItem]
    by_codes_and_period: Select[DueItem]
    locks: bool  # the item's row, until the transaction ends


def _joined(query: Select[DueItem]) -> Select[DueItem]:
    return (
        query.join(Unit, Unit.id == DueItem.unit_id)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
    )


def _source_is(source: Any) -> ColumnElement[bool]:
    return func.coalesce(Obligation.code, Deliverable.code) == source


def _item_queries(items: Select[DueItem], *, locks: bool = False) -> _ItemQueries:
    if locks:
        items = items.with_for_update(of=DueItem)
    # Two rows at most: one is the item, two say the address is ambiguous.
    by_codes = items.where(Unit.code == bindparam("unit"), _source_is(bindparam("source"))).limit(2)
    return _ItemQueries(
        by_id=items.where(DueItem.id == bindparam("item_id")),
        by_codes=by_codes,
        by_codes_and_period=by_codes.where(DueItem.period_label == bindparam("period")),
        locks=locks,
    )


# Items with their unit and obligation or deliverable, in one query. Statements are built
# once: building one costs more than running it.
_READING = _item_queries(
    _joined(select(DueItem)).options(
        contains_eager(DueItem.unit),
        contains_eager(DueItem.obligation),
        contains_eager(DueItem.deliverable),
    )
)
# For a submission: the item's row locked, and only what the check and the receipt read.
_SUBMITTING = _item_queries(
    _joined(select(DueItem)).options(
        contains_eager(DueItem.unit).load_only(Unit.code, Unit.name),
        contains_eager(DueItem.obligation).load_only(
            Obligation.code, Obligation.title, Obligation.narrative_sections
        ),
        contains_eager(DueItem.deliverable).load_only(Deliverable.code, Deliverable.title),
    ),
    locks=True,
)


def find_item(address: ItemAddress, *, session: Session, actor: Actor) -> DueItem:
    """The item addressed, with its unit and source, after checking the actor may act for it.

    Raises NotFound / Invalid (unknown unit, obligation or period), Forbidden (another unit).
    """
    return _find(address, session=session, actor=actor, queries=_READING)


def item_to_submit(address: ItemAddress, *, session: Session, actor: Actor) -> DueItem:
    """`find_item`, with the item's row locked until the transaction ends (`lock_item`)."""
    return _find(address, session=session, actor=actor, queries=_SUBMITTING)


def _find(
    address: ItemAddress, *, session: Session, actor: Actor, queries: _ItemQueries
) -> DueItem:
    if address.item_id is not None:
        item = _item_by_id(address.item_id, session=session, query=queries.by_id)
        check_actor(actor, item)
        _check_agrees(address, item)
        return item
    unit_code = address.unit or actor.unit_code
    if unit_code and address.source:
        # The one query of a well-addressed submission; the others only explain a miss.
        found = _only_item(unit_code, address, session=session, queries=queries)
        if found is not None and actor.may_act_for(found.unit_id):
            return found
    item = _item_by_codes(unit_code, address, session=session, actor=actor)
    if queries.locks:
        lock_item(item, session=session)
    return item


def _item_by_id(item_id: int, *, session: Session, query: Select[DueItem]) -> DueItem:
    # Out-of-range ids would be a database error on PostgreSQL: none such exists.
    item = None
    if 0 < item_id <= MAX_ID:
        item = session.scalars(query, {"item_id": item_id}).one_or_none()
    if item is None:
        raise NotFound(
            "unknown_item",
            f"Không có báo cáo số {item_id}.",
            [FieldError("item_id", "unknown_item", f"Không có báo cáo số {item_id}.")],
        )
    return item


def _check_agrees(address: ItemAddress, item: DueItem) -> None:
    """Unit, obligation and period given beside an item number must be the item's own."""
    mismatch = [
        FieldError(name, "mismatch", f"«{given}» không khớp với báo cáo số {item.id}.")
        for name, given, actual in (
            ("unit", address.unit, item.unit.code),
            ("obligation", address.source, source_of(item)[0]),
            ("period", address.period, item.period_label),
        )
        if given is not None and given != actual
    ]
    if mismatch:
        raise Invalid(mismatch)


def _only_item(
    unit_code: str, address: ItemAddress, *, session: Session, queries: _ItemQueries
) -> DueItem | None:
    """The one item of a unit, obligation and period; None when there is none or several."""
    params = {"unit": unit_code, "source": address.source, "period": address.period}
    query = queries.by_codes if address.period is None else queries.by_codes_and_period
    found = session.scalars(query, params).all()
    return found[0] if len(found) == 1 else None


def _item_by_codes(
    unit_code: str | None, address: ItemAddress, *, session: Session, actor: Actor
) -> DueItem:
    """The item of a unit, obligation and period, or the first reason there is none."""
    if not unit_code:
        raise Invalid([FieldError("unit", "required", "Chưa ghi mã đơn vị.")])
    unit = session.scalars(select(Unit).where(Unit.code == unit_code)).one_or_none()
    if unit is None:
        raise Invalid([FieldError("unit", "unknown_unit", f"Không có đơn vị mã «{unit_code}».")])
    if not actor.may_act_for(unit.id):
        raise Forbidden(
            "forbidden_unit",
            f"Mã truy cập của đơn vị «{actor.unit_code}» không được gửi báo cáo "
            f"thay đơn vị «{unit.code}».",
            [FieldError("unit", "forbidden_unit", "Không phải đơn vị của mã truy cập này.")],
        )
    source = address.source
    if not source:
        raise Invalid([FieldError("obligation", "required", "Chưa ghi mã báo cáo.")])
    _check_source_known(source, session=session)
    by_source = _joined(select(DueItem)).where(_source_is(source))
    if address.period is not None:
        by_source = by_source.where(DueItem.period_label == address.period)
    candidates = list(session.scalars(by_source.where(DueItem.unit_id == unit.id)))
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        raise _ambiguous(source, address.period)
    raise _no_such_period(unit, source, address.period, by_source, session=session)


def _check_source_known(source: str, *, session: Session) -> None:
    known = session.scalar(select(func.count()).where(Obligation.code == source)) or 0
    known += session.scalar(select(func.count()).where(Deliverable.code == source)) or 0
    if not known:
        raise Invalid(
            [FieldError("obligation", "unknown_obligation", f"Không có báo cáo mã «{source}».")]
        )


def _ambiguous(source: str, period: str | None) -> Invalid:
    return Invalid(
        [
            FieldError(
                "period" if period is None else "item_id",
                "ambiguous",
                f"Báo cáo «{source}» có nhiều kỳ: hãy ghi kỳ báo cáo."
                if period is None
                else "Có nhiều báo cáo trùng mã và kỳ: hãy dùng số báo cáo (item_id).",
            )
        ]
    )


def _no_such_period(
    unit: Unit,
    source: str,
    period: str | None,
    by_source: Select[DueItem],
    *,
    session: Session,
) -> Invalid:
    """Other units owe this period (the unit is not asked), or nobody does (no such period)."""
    if period is not None and session.scalar(
        select(func.count()).select_from(by_source.subquery())
    ):
        return Invalid(
            [
                FieldError(
                    "unit",
                    "not_assigned",
                    f"Đơn vị «{unit.code}» không phải gửi báo cáo «{source}» kỳ {period}.",
                )
            ]
        )
    return Invalid(
        [
            FieldError(
                "period",
                "unknown_period",
                f"Báo cáo «{source}» của đơn vị «{unit.code}» không có kỳ {period or '(trống)'}.",
            )
        ]
    )


def check_actor(actor: Actor, item: DueItem) -> None:
    """Forbidden unless the actor may act for the item's unit."""
    if not actor.may_act_for(item.unit_id):
        # A person may see another unit's item (access.scope) but submits only for their own.
        refused = (
            "mã truy cập này không được xem hay gửi"
            if actor.person_id is None
            else ("anh/chị chỉ gửi báo cáo của đơn vị mình")
        )
        raise Forbidden("forbidden_unit", f"Báo cáo số {item.id} thuộc đơn vị khác: {refused}.")


def check_may_see(actor: Actor, item: DueItem, *, session: Session) -> None:
    """Forbidden unless the item is in the actor's scope (access.scope): its own unit's, or
    one a unit head receives or a leader is in charge of."""
    if not actor.may_act_for(item.unit_id) and not may_see_item(actor, item.id, session=session):
        raise Forbidden(
            "forbidden_unit",
            f"Báo cáo số {item.id} thuộc đơn vị khác: mã truy cập này không được xem hay gửi.",
        )


def get_item(item_id: int, *, session: Session, actor: Actor) -> DueItem:
    """One item the actor may see; NotFound or Forbidden otherwise."""
    item = _item_by_id(item_id, session=session, query=_READING.by_id)
    check_may_see(actor, item, session=session)
    return item


_FORM_TARGETS = (
    select(
        Target.id,
        Target.code,
        Target.name,
        Target.kind,
        Target.unit_of_measure,
        ObligationTarget.required,
    )
    .join(Target, Target.id == ObligationTarget.target_id)
    .where(ObligationTarget.obligation_id == bindparam("obligation_id"))
    .order_by(ObligationTarget.position)
)


def obligation_spec(obligation: Obligation, *, session: Session) -> FormSpec:
    """The form of an obligation's report: its targets in order, and its narrative sections."""
    rows = session.execute(_FORM_TARGETS, {"obligation_id": obligation.id})
    targets = tuple(
        TargetSpec(
            target_id=t.id,
            code=t.code,
            name=t.name,
            kind=TargetKind(t.kind),
            unit_of_measure=t.unit_of_measure,
            required=t.required,
        )
        for t in rows
    )
    return FormSpec(
        kind=ItemKind.REPORT, targets=targets, sections=tuple(obligation.narrative_sections)
    )


def form_spec(item: DueItem, *, session: Session) -> FormSpec:
    """The form of an item: its obligation's report, or a deliverable's progress."""
    if item.obligation is None:
        return FormSpec(kind=ItemKind.DELIVERABLE)
    return obligation_spec(item.obligation, session=session)


def find_source(code: str, *, session: Session) -> Obligation | Deliverable:
    """An obligation or deliverable by code, from the newest plan that has it."""
    obligation = session.scalars(
        select(Obligation)
        .join(Plan, Plan.id == Obligation.plan_id)
        .where(Obligation.code == code)
        .order_by(Plan.year.desc(), Plan.id.desc())
        .limit(1)
    ).first()
    if obligation is not None:
        return obligation
    deliverable = session.scalars(
        select(Deliverable)
        .join(Plan, Plan.id == Deliverable.plan_id)
        .where(Deliverable.code == code)
        .order_by(Plan.year.desc(), Plan.id.desc())
        .limit(1)
    ).first()
    if deliverable is None:
        raise NotFound(
            "unknown_obligation",
            f"Không có báo cáo hay nhiệm vụ mã «{code}».",
            [FieldError("obligation", "unknown_obligation", f"Không có mã «{code}».")],
        )
    return deliverable


def source_spec(code: str, *, session: Session) -> tuple[str, FormSpec]:
    """(title, form) of an obligation or deliverable code: what a template is built from."""
    source = find_source(code, session=session)
    if isinstance(source, Obligation):
        return source.title, obligation_spec(source, session=session)
    return source.title, FormSpec(kind=ItemKind.DELIVERABLE)


def merge_addresses(*addresses: ItemAddress) -> ItemAddress:
    """One address from several sources (form fields, file header, file name); they must agree."""
    merged: dict[str, Any] = {}
    problems = []
    for name, field_name, label in (
        ("item_id", "item_id", "Số báo cáo"),
        ("unit", "unit", "Mã đơn vị"),
        ("source", "obligation", "Mã báo cáo"),
        ("period", "period", "Kỳ báo cáo"),
    ):
        given = {getattr(a, name) for a in addresses} - {None, ""}
        if len(given) > 1:
            shown = ", ".join(f"«{g}»" for g in sorted(map(str, given)))
            problems.append(
                FieldError(
                    field_name,
                    "mismatch",
                    f"{label} ghi khác nhau (tên tệp, nội dung tệp, lựa chọn khi gửi): {shown}.",
                )
            )
        merged[name] = next(iter(given)) if len(given) == 1 else None
    if problems:
        raise Invalid(problems)
    return ItemAddress(**merged)
