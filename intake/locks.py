"""Closed periods (khóa sổ) and the per-item lock a submission takes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from access.actor import Actor
from access.audit import record_event
from models.db import sqlite_in_memory
from models.items import DueItem, PeriodLock
from models.plan import Deliverable, Obligation
from schedules.calendar import local_date
from submissions.errors import Conflict, NotFound


def lock_key(item: DueItem) -> str:
    if item.obligation_id is not None:
        return f"obligation:{item.obligation_id}:{item.period_label or '-'}"
    return f"deliverable:{item.deliverable_id}:{item.period_label or '-'}"


def check_open(item: DueItem, *, session: Session, now: datetime) -> None:
    """Refuse (Conflict) when the item is withdrawn, not yet open, or its period locked."""
    refuse_closed(item, locked_at=period_locked_at(item, session=session), now=now)


def period_locked_at(item: DueItem, *, session: Session) -> datetime | None:
    """When the item's period was locked (khóa sổ), if it is."""
    return session.scalar(select(PeriodLock.locked_at).where(PeriodLock.lock_key == lock_key(item)))


def refuse_closed(item: DueItem, *, locked_at: datetime | None, now: datetime) -> None:
    """Refuse (Conflict) when the item is withdrawn, not yet open, or locked at `locked_at`."""
    period_text = f"Kỳ báo cáo {item.period_label} " if item.period_label else "Báo cáo này "
    if item.withdrawn_at is not None:
        raise Conflict("withdrawn", "Báo cáo này không còn được yêu cầu (đã rút khỏi kế hoạch).")
    if now < item.opens_at:
        raise Conflict(
            "not_open",
            f"{period_text}chưa mở: nhận báo cáo từ ngày {local_date(item.opens_at):%d/%m/%Y}.",
        )
    if locked_at is not None:
        raise Conflict(
            "locked",
            f"{period_text}đã khóa sổ ngày {local_date(locked_at):%d/%m/%Y}: "
            "không nhận thêm báo cáo.",
        )


def lock_item(item: DueItem, *, session: Session) -> None:
    """Lock the item's row until the transaction ends (PostgreSQL; SQLite locks on write).

    Writers for one item then take turns: the idempotency lookup and the next version number
    both see the previous writer's committed row.
    """
    session.execute(select(DueItem.id).where(DueItem.id == item.id).with_for_update())


def lock_period(
    *,
    session: Session,
    source: str,
    period: str | None,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    source_address: str | None = None,
) -> PeriodLock:
    """Close a period of an obligation (or a deliverable); audited. Locking twice is a no-op."""
    items = list(
        session.scalars(
            select(DueItem)
            .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
            .where(
                func.coalesce(Obligation.code, Deliverable.code) == source,
                DueItem.period_label.is_(None)
                if period is None
                else DueItem.period_label == period,
            )
            .limit(1)
        )
    )
    if not items:
        raise NotFound("unknown_period", f"Không có báo cáo «{source}» kỳ {period or '(trống)'}.")
    key = lock_key(items[0])
    existing = session.scalars(select(PeriodLock).where(PeriodLock.lock_key == key)).first()
    if existing is not None:
        return existing
    lock = PeriodLock(
        lock_key=key,
        obligation_id=items[0].obligation_id,
        deliverable_id=items[0].deliverable_id,
        period_label=period,
        locked_at=now,
        locked_by=actor.label,
        reason=reason,
    )
    session.add(lock)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="period.lock",
        object_type="period_lock",
        object_id=key,
        source_address=source_address,
        details={"source": source, "period": period, "reason": reason},
        now=now,
    )
    return lock


def unlock_period(
    *,
    session: Session,
    source: str,
    period: str | None,
    actor: Actor,
    now: datetime,
    source_address: str | None = None,
) -> bool:
    """Reopen a locked period; audited. Returns whether a lock was removed."""
    locks = list(
        session.scalars(
            select(PeriodLock)
            .outerjoin(Obligation, Obligation.id == PeriodLock.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == PeriodLock.deliverable_id)
            .where(
                func.coalesce(Obligation.code, Deliverable.code) == source,
                PeriodLock.period_label.is_(None)
                if period is None
                else PeriodLock.period_label == period,
            )
        )
    )
    for lock in locks:
        record_event(
            session=session,
            actor=actor,
            action="period.unlock",
            object_type="period_lock",
            object_id=lock.lock_key,
            source_address=source_address,
            details={"source": source, "period": period},
            now=now,
        )
        session.delete(lock)
    session.flush()
    return bool(locks)


def hold_for_writing(session: Session) -> None:
    """Declare, before a writer reads its received time, that it will write submissions.

    PostgreSQL: a ROW EXCLUSIVE lock on the table, which writers share and `wait_for_writers`
    waits for. SQLite: the writer already holds the database's write lock (BEGIN IMMEDIATE).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE submissions IN ROW EXCLUSIVE MODE"))


def wait_for_writers(engine: Engine) -> None:
    """Return once every submission whose received time was read by now is committed.

    A compilation as of T calls it after T: writers still storing a time up to T hold the
    lock it waits for, and writers after it read a later time, so what counts as of T never
    changes afterwards. The lock is released at once: intake waits only for this instant.
    """
    if sqlite_in_memory(engine.url):
        return  # one connection: no other writer can be in flight
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE submissions IN SHARE MODE")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
