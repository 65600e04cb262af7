"""Who sees which items: each role of a person (and a unit token, and the office) against items of
their own unit, of a unit reporting to it, of a unit they lead and of an unrelated unit, on
SQLite and PostgreSQL, through the tokens people sign in with."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest
from sqlalchemy import Engine, select

from access.actor import Actor
from access.scope import (
    item_condition,
    may_act_for_office,
    may_read_reports,
    may_see_unit,
    may_submit,
)
from access.tokens import authenticate, issue_person_token, issue_token
from models.access import Role
from models.db import session_factory, transaction
from models.items import DueItem
from models.org import Person, Unit
from models.plan import Deliverable, Obligation
from notifications.routing import load_routes
from plan_sync.sync import load_plan
from plans.loader import read_plan
from tests.support.seeded import seeded

PLAN = Path(__file__).parent / "people-plan.yaml"
NOW = pendulum.datetime(2024, 4, 20, 9, 0, tz="UTC")
OFFICE = Actor(role=Role.ADMIN, label="test:office")

XA_MOT = {("bao-cao-xa", "xa-mot"), ("ke-hoach-xa", "xa-mot")}
TO_PHONG_A = {("bao-cao-xa", "xa-mot"), ("bao-cao-xa", "xa-hai"), ("ke-hoach-xa", "xa-mot")}
PHONG_A = {("bao-cao-phong", "phong-a")}
EVERY = XA_MOT | TO_PHONG_A | PHONG_A | {("bao-cao-nong-nghiep", "xa-ba")}

# holder (a person's code, "unit:<code>" or "office") -> the (source, unit) of the items seen.
SCOPES: dict[str, set[tuple[str, str]]] = {
    # a unit token: its own unit's items
    "unit:xa-mot": XA_MOT,
    # reporting officers: their unit's items, never those reported to their unit
    "xa-mot.can-bo": XA_MOT,
    "phong-a.can-bo": PHONG_A,
    # unit heads: their unit's items and those reported to their unit
    "xa-mot.chu-tich": XA_MOT,  # nothing reports to a commune
    "truong-phong": PHONG_A | TO_PHONG_A,
    # leaders: the obligation's `via`, else the task's leader, else the plan's signer
    "pho-chu-tich": {("bao-cao-xa", "xa-mot"), ("bao-cao-xa", "xa-hai")},
    "pho-chu-tich-b": {("ke-hoach-xa", "xa-mot"), ("bao-cao-nong-nghiep", "xa-ba")},
    "chu-tich": PHONG_A,
    # the office: everything
    "van-phong": EVERY,
    "office": EVERY,
}
# holder -> units whose items it may submit (Actor.may_act_for), or None: every unit.
SUBMITS: dict[str, set[str] | None] = {
    "unit:xa-mot": {"xa-mot"},
    "xa-mot.can-bo": {"xa-mot"},
    "phong-a.can-bo": {"phong-a"},
    "xa-mot.chu-tich": {"xa-mot"},
    "truong-phong": {"phong-a"},
    "pho-chu-tich": set(),
    "pho-chu-tich-b": set(),
    "chu-tich": set(),
    "van-phong": None,
    "office": None,
}
# Who reads the compiled reports (addressed to the leaders in charge; the office compiles).
READS_REPORTS = {"pho-chu-tich", "pho-chu-tich-b", "chu-tich", "van-phong", "office"}
UNITS = ("ubnd", "phong-a", "phong-b", "xa-mot", "xa-hai", "xa-ba")


@pytest.fixture
def people_plan(engine: Engine) -> Engine:
    def load() -> None:
        with transaction(engine) as session:
            load_plan(read_plan(PLAN), session=session, now=NOW)

    seeded(engine, "people_plan", load)
    return engine


def _actor(engine: Engine, holder: str) -> Actor:
    """The actor of a token issued to the holder, as signing in with it gives."""
    if holder == "office":
        return OFFICE
    with transaction(engine) as session:
        if holder.startswith("unit:"):
            unit = session.scalars(select(Unit).where(Unit.code == holder[5:])).one()
            _, secret = issue_token(
                session=session,
                role=Role.UNIT,
                unit=unit,
                label=None,
                issued_by=OFFICE,
                now=NOW,
            )
        else:
            _, _, secret = issue_person_token(holder, session=session, issued_by=OFFICE, now=NOW)
    with session_factory(engine)() as session:
        actor = authenticate(secret, session=session, admin_secret=None)
    assert actor is not None
    return actor


def _seen(engine: Engine, actor: Actor) -> set[tuple[str, str]]:
    with session_factory(engine)() as session:
        rows = session.execute(
            select(Obligation.code, Deliverable.code, Unit.code)
            .select_from(DueItem)
            .join(Unit, Unit.id == DueItem.unit_id)
            .outerjoin(Obligation, Obligation.id == DueItem.obligation_id)
            .outerjoin(Deliverable, Deliverable.id == DueItem.deliverable_id)
            .where(item_condition(actor))
        ).all()
    return {(obligation or deliverable, unit) for obligation, deliverable, unit in rows}


@pytest.mark.parametrize("holder", sorted(SCOPES))
def test_each_holder_sees_exactly_its_scope(people_plan: Engine, holder: str) -> None:
    actor = _actor(people_plan, holder)
    assert _seen(people_plan, actor) == SCOPES[holder]
    with session_factory(people_plan)() as session:
        unit_ids = {c: i for c, i in session.execute(select(Unit.code, Unit.id))}
        # A unit's page: its own unit, those whose scope holds one of its items, the office.
        own = {actor.unit_code} if actor.unit_code else set()
        expected_units = own | {unit for _, unit in SCOPES[holder]}
        if actor.is_admin:
            expected_units = set(UNITS)
        opened = {c for c in UNITS if may_see_unit(actor, unit_ids[c], session=session)}
        assert opened == expected_units
    submits = SUBMITS[holder]
    acts_for = {c for c in UNITS if actor.may_act_for(unit_ids[c])}
    assert acts_for == (set(UNITS) if submits is None else submits)
    assert may_submit(actor) == (submits is None or bool(submits))
    assert may_act_for_office(actor) == (submits is None)
    assert may_read_reports(actor) == (holder in READS_REPORTS)


def test_a_leaders_scope_is_the_chain_reminders_follow(people_plan: Engine) -> None:
    """Each item is in the scope of the leader notifications.routing escalates it to."""
    with session_factory(people_plan)() as session:
        items = session.scalars(select(DueItem.id)).all()
        routes = load_routes(session=session, item_ids=items)
        leaders = {i: c for i, c in session.execute(select(Person.id, Person.code))}
    for code in ("chu-tich", "pho-chu-tich", "pho-chu-tich-b"):
        actor = _actor(people_plan, code)
        with session_factory(people_plan)() as session:
            seen = set(session.scalars(select(DueItem.id).where(item_condition(actor))))
        routed = {i for i, r in routes.items() if leaders.get(r.leader_id or 0) == code}
        assert seen == routed and seen, code


def test_a_person_token_stands_for_the_person_as_the_plan_says_now(people_plan: Engine) -> None:
    """Unit and role are read when the token is used: a moved person is scoped anew."""
    actor = _actor(people_plan, "xa-mot.can-bo")
    assert (actor.person_name, actor.person_role_vi) == ("Đặng Thị Một", "Cán bộ đầu mối báo cáo")
    assert actor.unit_code == "xa-mot" and actor.label.startswith("person:xa-mot.can-bo token#")
    with transaction(people_plan) as session:
        person = session.scalars(select(Person).where(Person.code == "xa-mot.can-bo")).one()
        person.unit_id = session.scalars(select(Unit.id).where(Unit.code == "phong-a")).one()
        _, _, secret = issue_person_token(
            "xa-mot.can-bo", session=session, issued_by=OFFICE, now=NOW
        )
    with session_factory(people_plan)() as session:
        moved = authenticate(secret, session=session, admin_secret=None)
    assert moved is not None and moved.unit_code == "phong-a"
    assert _seen(people_plan, moved) == PHONG_A
