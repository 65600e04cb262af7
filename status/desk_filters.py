"""The dashboard's filter choices: the sources, years, unit kinds and parent units in scope.

Each list is kept (status.kept) until an item is added or moved, or a unit or a plan changes:
the page asks for all four on every click.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from models.items import DueItem
from models.org import Unit
from models.plan import Deliverable, Obligation, Plan, PlanTask
from plans.vocabulary import UNIT_KIND_VI
from status.dashboard import (
    Source,
    SourceKind,
    SourceOption,
    common_marks,
    name_key,
    of_source,
    owes,
    scope_key,
)
from status.kept import Kept

T = TypeVar("T")


def _all(session: Session, query: Any) -> list[Any]:
    return list(session.execute(query).all())


def _listed(
    session: Session, kept: Kept | None, key: tuple[Any, ...], compute: Callable[[], list[T]]
) -> list[T]:
    """A filter's choices, kept until an item, a unit or a plan changes."""
    if kept is None:
        return compute()
    return kept.answer(key, common_marks(session), lambda: (compute(), None))


def source_options(
    session: Session, *, scope: ColumnElement[bool], kept: Kept | None = None
) -> list[SourceOption]:
    """The reports, deliverables and tasks with items in `scope`, each code once, by title."""

    def compute() -> list[SourceOption]:
        reports = _all(
            session,
            select(Obligation.code, Obligation.title).where(
                owes(DueItem.obligation_id == Obligation.id, scope)
            ),
        )
        owed = owes(DueItem.deliverable_id == Deliverable.id, scope)
        deliverables = _all(session, select(Deliverable.code, Deliverable.title).where(owed))
        tasks = _all(
            session,
            select(PlanTask.code, PlanTask.title).where(
                select(Deliverable.id).where(Deliverable.task_id == PlanTask.id, owed).exists()
            ),
        )
        options: dict[str, SourceOption] = {}
        for kind, found in (
            (SourceKind.REPORT, reports),
            (SourceKind.DELIVERABLE, deliverables),
            (SourceKind.TASK, tasks),
        ):
            group: dict[str, SourceOption] = {}
            for code, title in found:
                group.setdefault(code, SourceOption(Source(kind, code), title))
            ordered = sorted(group.values(), key=lambda o: name_key(o.title))
            options.update((o.source.value, o) for o in ordered)
        return list(options.values())

    return _listed(session, kept, ("sources", scope_key(scope)), compute)


def year_options(
    session: Session, source: Source, *, scope: ColumnElement[bool], kept: Kept | None = None
) -> list[int]:
    """The plan years in which the source has items in `scope`, newest first."""

    def compute() -> list[int]:
        # A probe per plan (a handful), each stopping at its first item, not a list of items.
        query = (
            select(Plan.year)
            .distinct()
            .where(owes(DueItem.plan_id == Plan.id, of_source(source), scope))
        )
        return sorted((y for (y,) in _all(session, query)), reverse=True)

    return _listed(session, kept, ("years", source, scope_key(scope)), compute)


def unit_kinds(
    session: Session, *, scope: ColumnElement[bool], kept: Kept | None = None
) -> list[str]:
    """The kinds of the units with items in `scope`."""

    def compute() -> list[str]:
        query = select(Unit.kind).distinct().where(owes(DueItem.unit_id == Unit.id, scope))
        found = [k for (k,) in _all(session, query)]
        return sorted(found, key=lambda k: name_key(UNIT_KIND_VI.get(k, k)))

    return _listed(session, kept, ("kinds", scope_key(scope)), compute)


def parent_units(
    session: Session, *, scope: ColumnElement[bool], kept: Kept | None = None
) -> list[tuple[str, str]]:
    """(code, name) of the units that have units with items in `scope` under them."""

    def compute() -> list[tuple[str, str]]:
        under = select(Unit.parent_id).where(owes(DueItem.unit_id == Unit.id, scope))
        found = _all(session, select(Unit.code, Unit.name).where(Unit.id.in_(under)))
        return sorted(((c, n) for c, n in found), key=lambda u: name_key(u[1]))

    return _listed(session, kept, ("parents", scope_key(scope)), compute)
