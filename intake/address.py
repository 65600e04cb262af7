"""Which item a submission is for, and the form it must fill (addressing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from access.actor import Actor
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


def _source_title(item: DueItem) -> tuple[str, str]:
    if item.obligation is not None:
        return item.obligation.code, item.obligation.title
    assert item.deliverable is not None
    return item.deliverable.code, item.deliverable.title


def find_item(address: ItemAddress, *, session: Session, actor: Actor) -> DueItem:
    """The item addressed, after checking the actor may act for its unit.

    Raises NotFound / Invalid (unknown unit, obligation or period), Forbidden (another unit).
    """
    if address.item_id is not None:
        # Out-of-range ids would be a database error on PostgreSQL: none such exists.
        item = session.get(DueItem, address.item_id) if 0 < address.item_id <= MAX_ID else None
        if item is None:
            raise NotFound(
                "unknown_item",
                f"Không có báo cáo số {address.item_id}.",
                [FieldError("item_id", "unknown_item", f"Không có báo cáo số {address.item_id}.")],
            )
        _check_actor(actor, item)
        mismatch = [
            FieldError(name, "mismatch", f"«{given}» không khớp với báo cáo số {item.id}.")
            for name, given, actual in (
                ("unit", address.unit, item.unit.code),
                ("obligation", address.source, _source_title(item)[0]),
                ("period", address.period, item.period_label),
            )
            if given is not None and given != actual
        ]
        if mismatch:
            raise Invalid(mismatch)
        return item

    unit_code = address.unit or actor.unit_code
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
    if not address.source:
        raise Invalid([FieldError("obligation", "required", "Chưa ghi mã báo cáo.")])
    source = address.source
    known = session.scalar(select(func.count()).where(Obligation.code == source)) or 0
    known += session.scalar(select(func.count()).where(Deliverable.code == source)) or 0
    if not known:
        raise Invalid(
            [FieldError("obligation", "unknown_obligation", f"Không có báo cáo mã «{source}».")]
        )
    by_source = (
        select(DueItem)
        .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
        .where(func.coalesce(Obligation.code, Deliverable.code) == source)
    )
    if address.period is not None:
        by_source = by_source.where(DueItem.period_label == address.period)
    candidates = list(session.scalars(by_source.where(DueItem.unit_id == unit.id)))
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        field_name = "period" if address.period is None else "item_id"
        raise Invalid(
            [
                FieldError(
                    field_name,
                    "ambiguous",
                    f"Báo cáo «{source}» có nhiều kỳ: hãy ghi kỳ báo cáo."
                    if address.period is None
                    else "Có nhiều báo cáo trùng mã và kỳ: hãy dùng số báo cáo (item_id).",
                )
            ]
        )
    if address.period is not None and session.scalar(
        select(func.count()).select_from(by_source.subquery())
    ):
        raise Invalid(
            [
                FieldError(
                    "unit",
                    "not_assigned",
                    f"Đơn vị «{unit.code}» không phải gửi báo cáo «{source}» kỳ {address.period}.",
                )
            ]
        )
    period_text = address.period or "(trống)"
    raise Invalid(
        [
            FieldError(
                "period",
                "unknown_period",
                f"Báo cáo «{source}» của đơn vị «{unit.code}» không có kỳ {period_text}.",
            )
        ]
    )


def _check_actor(actor: Actor, item: DueItem) -> None:
    if not actor.may_act_for(item.unit_id):
        raise Forbidden(
            "forbidden_unit",
            f"Báo cáo số {item.id} thuộc đơn vị khác: mã truy cập này không được xem hay gửi.",
        )


def get_item(item_id: int, *, session: Session, actor: Actor) -> DueItem:
    """One item the actor may see; NotFound or Forbidden otherwise."""
    return find_item(ItemAddress(item_id=item_id), session=session, actor=actor)


def obligation_spec(obligation: Obligation, *, session: Session) -> FormSpec:
    """The form of an obligation's report: its targets in order, and its narrative sections."""
    rows = session.execute(
        select(ObligationTarget, Target)
        .join(Target, Target.id == ObligationTarget.target_id)
        .where(ObligationTarget.obligation_id == obligation.id)
        .order_by(ObligationTarget.position)
    )
    targets = tuple(
        TargetSpec(
            target_id=t.id,
            code=t.code,
            name=t.name,
            kind=TargetKind(t.kind),
            unit_of_measure=t.unit_of_measure,
            required=ot.required,
        )
        for ot, t in rows
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
