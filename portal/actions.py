"""The office's acts on one item (/viec/<id>/gia-han, /viec/<id>/mien): form, confirm, done.

Every act of the office's pages goes the same way: the form; posted without `xac_nhan` it is
checked by the very service that will do it (in a transaction rolled back) and a page says
what will happen; posted again with `xac_nhan` it is done, with its audit row, in the
request's transaction. The CLI calls the same services (intake.reliefs, intake.locks,
access.tokens, adhoc.requests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from access.actor import Actor
from access.scope import may_act_for_office
from intake.reliefs import exempt_item, extend_deadline, item_by_id, read_new_deadline
from models.calendar import load_calendar
from models.items import DueItem
from models.org import Unit
from models.reliefs import ItemRelief
from portal.deps import (
    DbSession,
    Portal,
    PortalState,
    PostedForm,
    SignedIn,
    WebActor,
    check_csrf,
    client_address,
    csrf_token,
    portal_of,
)
from portal.web import sign_in_redirect
from submissions.errors import Forbidden, IntakeError, Invalid
from wording import vietnamese as vi

router = APIRouter(include_in_schema=False)
CONFIRMED = "xac_nhan"
EDIT = "sua"  # posted from the confirm page: the form again, as typed
T = TypeVar("T")


# --- shared by the office's pages (portal.office, portal.reports_page) ----------------------


def refuse_unless_office(actor: Actor) -> None:
    """A unit's officer, a unit head or a leader may look but not act: a Vietnamese 403."""
    if not may_act_for_office(actor):
        raise Forbidden(
            "office_only",
            "Chỉ văn phòng (cán bộ tổng hợp) được làm việc này: mã truy cập của bạn không có "
            "quyền thực hiện.",
        )


def office_form(request: Request, actor: SignedIn, form: PostedForm) -> Actor:
    """The office posting one of its forms: the form's CSRF value is checked, then anyone
    but the office is refused (a Vietnamese 403), before the handler reads a field."""
    check_csrf(request, form.get("csrf"))
    refuse_unless_office(actor)
    return actor


OfficeForm = Annotated[Actor, Depends(office_form)]


def sign_in_first(request: Request) -> RedirectResponse:
    """To the sign-in page and back here, query string and all (portal.web.sign_in_redirect)."""
    return sign_in_redirect(request)


def page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    """A desk page: the actor's CSRF value and the template's context."""
    context = {"csrf": csrf_token(request), **context}
    return portal_of(request).templates.TemplateResponse(
        request, name, context, status_code=status_code
    )


def form_page(
    request: Request,
    name: str,
    context: dict[str, Any],
    error: IntakeError | None,
    *,
    renamed: dict[str, str] | None = None,
) -> Response:
    """A desk form as typed, with a refusal's messages beside their fields (those naming no
    field on top) and its status; `renamed`: a service's field name -> the form's."""
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    if error is not None:
        for f in error.fields:
            errors.setdefault((renamed or {}).get(f.field, f.field), []).append(f.message)
        if not error.fields:
            general.append(error.message)
    context = {**context, "errors": errors, "general": general}
    return page(request, name, context, status_code=error.status if error else 200)


def dry_run(portal: Portal, act: Callable[[Session], T]) -> T:
    """`act` checked and done by its own service in a transaction that is rolled back."""
    with portal.sessions() as session:
        try:
            return act(session)
        finally:
            session.rollback()


def posted(form: FormData, *names: str) -> dict[str, str]:
    """The named text fields as posted (for the confirm page's hidden copy)."""
    return {n: str(form.get(n) or "") for n in names}


def confirm_page(
    request: Request,
    actor: Actor,
    *,
    title: str,
    lines: list[str],
    action: str,
    fields: dict[str, str | list[str]],
    button: str,
    back: str,
    editable: bool = True,
) -> Response:
    """What will happen, with a button that does it and a way back (with what was typed)."""
    context = {
        "actor": actor,
        "title": title,
        "lines": lines,
        "action": action,
        "fields": fields,
        "button": button,
        "back": back,
        "confirmed": CONFIRMED,
        "edit": EDIT if editable else None,
    }
    return page(request, "desk_confirm.html", context)


def done_page(
    request: Request, actor: Actor, *, title: str, lines: list[str], links: list[tuple[str, str]]
) -> Response:
    context = {"actor": actor, "title": title, "lines": lines, "links": links}
    return page(request, "desk_done.html", context)


# --- the item's facts -----------------------------------------------------------------------


@dataclass(frozen=True)
class ItemFacts:
    item_id: int
    key: str
    unit_code: str
    unit_name: str
    source_title: str
    period: str
    deadline: str


def item_facts(item: DueItem, session: Session) -> ItemFacts:
    source = item.obligation or item.deliverable
    unit = session.get(Unit, item.unit_id)
    assert unit is not None and source is not None
    newest = session.scalars(
        select(ItemRelief).where(ItemRelief.item_id == item.id).order_by(ItemRelief.id.desc())
    ).first()
    deadline = vi.date_short(item.deadline_on)
    if newest is not None and newest.deadline_on is not None:
        deadline = f"{vi.date_short(newest.deadline_on)} (đã gia hạn; hạn gốc {deadline})"
    elif newest is not None:
        deadline += " (đang được miễn báo cáo)"
    title = str(getattr(source, "title", None) or getattr(source, "name", ""))
    return ItemFacts(
        item.id, item.key, unit.code, unit.name, title, vi.period(item.period_label), deadline
    )


def _facts(item_id: int, session: Session) -> tuple[DueItem, ItemFacts]:
    item = item_by_id(item_id, session=session)
    return item, item_facts(item, session)


# --- extend and exempt: one item's act -----------------------------------------------------

EXTEND, EXEMPT = "gia-han", "mien"  # /viec/<item>/gia-han, /viec/<item>/mien
_TEMPLATES = {EXTEND: "item_extend.html", EXEMPT: "item_exempt.html"}


def _item_form(
    act: str,
    request: Request,
    actor: Actor,
    facts: ItemFacts,
    typed: dict[str, str],
    error: IntakeError | None = None,
) -> Response:
    context = {"actor": actor, "item": facts, "typed": typed}
    return form_page(request, _TEMPLATES[act], context, error)


def _item_form_get(
    act: str, item_id: int, request: Request, session: Session, actor: Actor | None
) -> Response:
    if actor is None:
        return sign_in_first(request)
    refuse_unless_office(actor)
    _, facts = _facts(item_id, session)
    return _item_form(act, request, actor, facts, {})


def _item_confirm(
    act: str,
    request: Request,
    actor: Actor,
    facts: ItemFacts,
    typed: dict[str, str],
    *,
    title: str,
    lines: list[str],
) -> Response:
    """The confirm page of an item act: the item, then what the act changes."""
    path = f"/viec/{facts.item_id}/{act}"
    return confirm_page(
        request,
        actor,
        title=title,
        lines=[
            f"Đơn vị: {facts.unit_name}",
            f"Báo cáo: {facts.source_title} {facts.period}".strip(),
            f"Hạn hiện tại: {facts.deadline}",
            *lines,
        ],
        action=path,
        fields=dict(typed),
        button=title,
        back=path,
    )


def _item_done(
    request: Request, actor: Actor, facts: ItemFacts, *, title: str, lines: list[str]
) -> Response:
    links = [(f"/don-vi/{facts.unit_code}", f"Trang của {facts.unit_name}"), ("/", "Trang chủ")]
    return done_page(request, actor, title=title, lines=lines, links=links)


@router.get("/viec/{item_id}/gia-han")
def extend_form(item_id: int, request: Request, session: DbSession, actor: WebActor) -> Response:
    return _item_form_get(EXTEND, item_id, request, session, actor)


@router.post("/viec/{item_id}/gia-han")
def extend_post(
    item_id: int,
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    item, facts = _facts(item_id, session)
    typed = posted(form, "until", "reason")
    if form.get(EDIT) == "1":
        return _item_form(EXTEND, request, actor, facts, typed)
    now, address = portal.clock(), client_address(request)

    def act(s: Session) -> ItemRelief:
        return extend_deadline(
            s.get(DueItem, item.id) or item,
            until=read_new_deadline(typed["until"]),
            reason=typed["reason"],
            session=s,
            actor=actor,
            now=now,
            calendar=load_calendar(session=s),
            source_address=address,
        )

    try:
        if form.get(CONFIRMED) != "1":
            preview = dry_run(portal, act)
            assert preview.deadline_on is not None
            new_deadline = f"Hạn mới: hết ngày {vi.weekday_date(preview.deadline_on)}"
            return _item_confirm(
                EXTEND,
                request,
                actor,
                facts,
                typed,
                title="Xác nhận gia hạn",
                lines=[new_deadline, f"Lý do: {preview.reason}"],
            )
        row = act(session)
    except Invalid as error:
        return _item_form(EXTEND, request, actor, facts, typed, error)
    assert row.deadline_on is not None
    return _item_done(
        request,
        actor,
        facts,
        title="Đã gia hạn",
        lines=[
            f"Đã gia hạn báo cáo «{facts.source_title}» {facts.period} của {facts.unit_name} "
            f"đến hết ngày {vi.date_short(row.deadline_on)}.",
            "Việc gia hạn đã được ghi vào nhật ký.",
        ],
    )


@router.get("/viec/{item_id}/mien")
def exempt_form(item_id: int, request: Request, session: DbSession, actor: WebActor) -> Response:
    return _item_form_get(EXEMPT, item_id, request, session, actor)


@router.post("/viec/{item_id}/mien")
def exempt_post(
    item_id: int,
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    item, facts = _facts(item_id, session)
    typed = posted(form, "reason")
    if form.get(EDIT) == "1":
        return _item_form(EXEMPT, request, actor, facts, typed)
    now, address = portal.clock(), client_address(request)

    def act(s: Session) -> ItemRelief:
        return exempt_item(
            s.get(DueItem, item.id) or item,
            reason=typed["reason"],
            session=s,
            actor=actor,
            now=now,
            calendar=load_calendar(session=s),
            source_address=address,
        )

    try:
        if form.get(CONFIRMED) != "1":
            preview = dry_run(portal, act)
            return _item_confirm(
                EXEMPT,
                request,
                actor,
                facts,
                typed,
                title="Xác nhận miễn báo cáo",
                lines=[
                    "Sau khi miễn, báo cáo này không còn tính vào số đơn vị phải báo cáo, "
                    "không còn bị nhắc hay báo quá hạn.",
                    f"Lý do: {preview.reason}",
                ],
            )
        act(session)
    except Invalid as error:
        return _item_form(EXEMPT, request, actor, facts, typed, error)
    return _item_done(
        request,
        actor,
        facts,
        title="Đã miễn báo cáo",
        lines=[
            f"Đã miễn báo cáo «{facts.source_title}» {facts.period} cho {facts.unit_name}.",
            "Việc miễn báo cáo đã được ghi vào nhật ký.",
        ],
    )
