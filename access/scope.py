"""What an actor may see and do: the units and items in their charge, and the office's acts.

One definition for every page, API route and CLI command that shows or acts on items:
- the office (an admin token, the settings' admin secret, or a person of role `admin`)
  sees everything and acts;
- a unit token sees and submits its unit's items.
People signing in with their own token (reporting officer, unit head, leader in charge)
are scoped here too (see `item_condition`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from access.actor import Actor
from models.items import DueItem


def may_act_for_office(actor: Actor) -> bool:
    """The office's acts (extend, exempt, lock, retry, tokens, ad-hoc requests, compile)."""
    return actor.is_admin


def item_condition(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause over `DueItem` keeping the items `actor` may see (true for the office)."""
    if actor.is_admin:
        return true()
    if actor.unit_id is not None:
        return DueItem.unit_id == actor.unit_id
    return DueItem.id.is_(None)  # nobody's items: matches no row


def may_see_unit(actor: Actor, unit_id: int, *, session: Session) -> bool:
    """Whether `actor` may open the unit's page: the unit, those in charge of it, the office."""
    if actor.is_admin or actor.unit_id == unit_id:
        return True
    found = session.scalar(
        select(DueItem.id).where(DueItem.unit_id == unit_id, item_condition(actor)).limit(1)
    )
    return found is not None
