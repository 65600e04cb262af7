"""Each item's first acceptance (`DueItem.first_accepted_at`), kept true from its submissions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import ScalarSelect

from models.db import chunked
from models.items import DueItem
from models.submissions import Submission


def first_acceptance() -> ScalarSelect[datetime]:
    """When the item of the row being updated was first accepted: the earliest receipt among
    its accepted versions (later versions never move it; a late first version stays late)."""
    return (
        select(func.min(Submission.received_at))
        .where(Submission.item_id == DueItem.id, Submission.accepted.is_(True))
        .correlate(DueItem)
        .scalar_subquery()
    )


def refresh_first_acceptance(item_ids: Iterable[int] | None, *, session: Session) -> None:
    """Set `first_accepted_at` of these items (every item when None) from their submissions.

    Called in the transaction that adds, accepts, supersedes or withdraws a submission, after
    its rows are written: the column then never disagrees with the submissions it sums up.
    """
    statement = update(DueItem).values(first_accepted_at=first_acceptance())
    options = {"synchronize_session": False}
    if item_ids is None:
        session.execute(statement.execution_options(**options))
        wanted = None
    else:
        wanted = set(item_ids)
        for chunk in chunked(wanted):
            session.execute(statement.where(DueItem.id.in_(chunk)).execution_options(**options))
    # Items already loaded in the session read the new value on their next access.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, DueItem) and (wanted is None or loaded.id in wanted):
            session.expire(loaded, ["first_accepted_at"])
