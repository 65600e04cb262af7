"""The office's page /quan-ly: lock and reopen periods, issue (with a slip) and revoke tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from access.actor import PERSON_ROLE_VI, Actor
from access.tokens import issue_person_token, issue_token, revoke_tokens
from intake.locks import lock_period, unlock_period
from models.access import AccessToken, Role
from models.items import DueItem, PeriodLock
from models.org import Person, Unit
from models.plan import Deliverable, Obligation
from portal.actions import (
    CONFIRMED,
    EDIT,
    OfficeForm,
    confirm_page,
    done_page,
    dry_run,
    form_page,
    page,
    posted,
    refuse_unless_office,
    sign_in_first,
)
from portal.deps import (
    DbSession,
    PortalState,
    PostedForm,
    WebActor,
    client_address,
    portal_of,
)
from submissions.errors import FieldError, IntakeError, Invalid, NotFound
from wording import vietnamese as vi
from wording.collation import sort_key

router = APIRouter(include_in_schema=False)
TOKENS_SHOWN = 100
HOLDER_VI = {"don-vi": "Đơn vị", "ca-nhan": "Cá nhân", "quan-tri": "Quản trị (văn phòng)"}


# --- what the page shows --------------------------------------------------------------------


# The code field suggests codes as the office types; a province's 10,000 communes would make
# the page a megabyte, so past this many the office types the code (the dashboard shows it).
SUGGESTED_CODES = 1000


def _suggestions(session: Session, query: Select[str, str]) -> list[tuple[str, str]]:
    """Codes and names for the field's suggestions, or none when there are too many."""
    rows = [(code, name) for code, name in session.execute(query.limit(SUGGESTED_CODES + 1))]
    return rows if len(rows) <= SUGGESTED_CODES else []


def _sources(session: Session) -> list[tuple[str, str]]:
    """(code, title) of every obligation and deliverable, in Vietnamese order of the title."""
    rows = [*session.execute(select(Obligation.code, Obligation.title))]
    rows += [*session.execute(select(Deliverable.code, Deliverable.title))]
    return sorted({(c, t) for c, t in rows}, key=lambda r: sort_key(r[1]))


def _source_title(session: Session, code: str) -> str:
    """The title officials know a report by, with its code; the code alone when unknown."""
    title = session.scalar(select(Obligation.title).where(Obligation.code == code))
    title = title or session.scalar(select(Deliverable.title).where(Deliverable.code == code))
    return f"{title} ({code})" if title else code


def _periods(session: Session) -> list[str]:
    labels = session.scalars(
        select(DueItem.period_label).where(DueItem.period_label.is_not(None)).distinct()
    )
    return sorted((p for p in labels if p), reverse=True)


def _locks(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            PeriodLock,
            func.coalesce(Obligation.code, Deliverable.code),
            func.coalesce(Obligation.title, Deliverable.title),
        )
        .outerjoin(Obligation, Obligation.id == PeriodLock.obligation_id)
        .outerjoin(Deliverable, Deliverable.id == PeriodLock.deliverable_id)
        .order_by(PeriodLock.locked_at.desc())
    ).all()
    return [{"lock": lock, "source": code, "title": title} for lock, code, title in rows]


def _live_tokens(session: Session, search: str) -> list[dict[str, Any]]:
    query = (
        select(AccessToken, Unit.code, func.coalesce(Unit.name, Person.full_name))
        .outerjoin(Unit, Unit.id == AccessToken.unit_id)
        .outerjoin(Person, Person.id == AccessToken.person_id)
        .where(AccessToken.revoked_at.is_(None))
        .order_by(AccessToken.id.desc())
        .limit(TOKENS_SHOWN)
    )
    if search:
        query = query.where(
            func.lower(Unit.code).contains(search.lower(), autoescape=True)
            | func.lower(Unit.name).contains(search.lower(), autoescape=True)
            | func.lower(Person.full_name).contains(search.lower(), autoescape=True)
            | func.lower(AccessToken.label).contains(search.lower(), autoescape=True)
        )
    return [
        {"token": t, "unit_code": code, "unit_name": name}
        for t, code, name in session.execute(query).all()
    ]


def _office_page(
    request: Request,
    actor: Actor,
    session: Session,
    *,
    typed: dict[str, str] | None = None,
    error: IntakeError | None = None,
) -> Response:
    search = request.query_params.get("tim", "").strip()
    context = {
        "actor": actor,
        "sources": _sources(session),
        "periods": _periods(session),
        "locks": _locks(session),
        "live_tokens": _live_tokens(session, search),
        "search": search,
        "units": _suggestions(session, select(Unit.code, Unit.name).order_by(Unit.code)),
        "people": _suggestions(
            session, select(Person.code, Person.full_name).order_by(Person.code)
        ),
        "holders": HOLDER_VI,
        "typed": typed or {},
    }
    return form_page(request, "office.html", context, error)


@router.get("/quan-ly")
def office(request: Request, session: DbSession, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_first(request)
    refuse_unless_office(actor)
    return _office_page(request, actor, session)


# --- periods --------------------------------------------------------------------------------


def _period_field(text: str) -> str | None:
    return text.strip() or None


def _lock(
    s: Session, typed: dict[str, str], actor: Actor, now: datetime, address: str | None
) -> PeriodLock:
    if not typed["lock_source"]:
        raise Invalid([FieldError("lock_source", "required", "Chưa chọn báo cáo cần khóa sổ.")])
    try:
        return lock_period(
            session=s,
            source=typed["lock_source"],
            period=_period_field(typed["lock_period"]),
            actor=actor,
            now=now,
            reason=typed["lock_reason"].strip() or None,
            source_address=address,
        )
    except NotFound as missing:
        raise Invalid([FieldError("lock_period", missing.code, missing.message)]) from None


@router.post("/quan-ly/khoa-so")
def lock(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    typed = posted(form, "lock_source", "lock_period", "lock_reason")
    if form.get(EDIT) == "1":
        return _office_page(request, actor, session, typed=typed)
    now, address = portal.clock(), client_address(request)
    period_vi = vi.period(typed["lock_period"]) or "(không theo kỳ)"
    try:
        if form.get(CONFIRMED) != "1":
            existing = dry_run(portal, lambda s: _lock(s, typed, actor, now, address))
            already = existing.locked_at != now
            return confirm_page(
                request,
                actor,
                title="Xác nhận khóa sổ",
                lines=[
                    f"Báo cáo: {_source_title(session, typed['lock_source'])}, kỳ {period_vi}",
                    "Kỳ này đã khóa sổ từ trước: không thay đổi gì."
                    if already
                    else "Sau khi khóa sổ, cổng báo cáo từ chối mọi báo cáo gửi thêm cho kỳ này "
                    "(có thể mở lại sau).",
                    f"Lý do: {typed['lock_reason'].strip() or '(không ghi)'}",
                ],
                action="/quan-ly/khoa-so",
                fields=dict(typed),
                button="Xác nhận khóa sổ",
                back="/quan-ly",
            )
        _lock(session, typed, actor, now, address)
    except Invalid as error:
        return _office_page(request, actor, session, typed=typed, error=error)
    return done_page(
        request,
        actor,
        title="Đã khóa sổ",
        lines=[
            f"Đã khóa sổ {_source_title(session, typed['lock_source'])} kỳ {period_vi}: "
            "không nhận thêm báo cáo."
        ],
        links=[("/quan-ly", "Về trang quản lý")],
    )


@router.post("/quan-ly/mo-so")
def unlock(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    typed = posted(form, "source", "period")
    period_vi = vi.period(typed["period"]) or "(không theo kỳ)"
    now, address = portal.clock(), client_address(request)

    def reopen(s: Session) -> None:
        removed = unlock_period(
            session=s,
            source=typed["source"],
            period=_period_field(typed["period"]),
            actor=actor,
            now=now,
            source_address=address,
        )
        if not removed:
            message = f"{_source_title(s, typed['source'])} kỳ {period_vi} không bị khóa sổ."
            raise Invalid([FieldError("period", "not_locked", message)], message)

    if form.get(CONFIRMED) != "1":
        dry_run(portal, reopen)
        return confirm_page(
            request,
            actor,
            title="Xác nhận mở lại kỳ báo cáo",
            lines=[
                f"Báo cáo: {_source_title(session, typed['source'])}, kỳ {period_vi}",
                "Sau khi mở lại, các đơn vị gửi được báo cáo cho kỳ này như trước khi khóa sổ.",
            ],
            action="/quan-ly/mo-so",
            fields=dict(typed),
            button="Xác nhận mở lại",
            back="/quan-ly",
            editable=False,
        )
    reopen(session)
    return done_page(
        request,
        actor,
        title="Đã mở lại kỳ báo cáo",
        lines=[
            f"Đã mở lại {_source_title(session, typed['source'])} kỳ {period_vi}: các đơn vị "
            "gửi được báo cáo."
        ],
        links=[("/quan-ly", "Về trang quản lý")],
    )


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slip:
    """What the handover slip shows: never stored, the secret shown this once."""

    token_id: int
    holder: str
    role: str
    hint: str
    secret: str
    issued_at: datetime
    sign_in_at: str
    issued_by: str


def _issue(
    s: Session, typed: dict[str, str], actor: Actor, now: datetime, address: str | None
) -> tuple[AccessToken, str, str, str]:
    """The token row, its secret, the holder and the role as the slip says them."""
    kind, code, label = typed["holder_kind"], typed["holder_code"].strip(), typed["label"].strip()
    if kind not in HOLDER_VI:
        raise Invalid([FieldError("holder_kind", "required", "Chưa chọn cấp mã cho ai.")])
    if kind == "quan-tri":
        row, secret = issue_token(
            session=s, role=Role.ADMIN, unit=None, label=label or None, issued_by=actor, now=now,
            source_address=address,
        )  # fmt: skip
        return row, secret, label or "Văn phòng (cán bộ tổng hợp)", "Quản trị: xem và làm mọi việc"
    if not code:
        field = "Chưa ghi mã đơn vị." if kind == "don-vi" else "Chưa ghi mã cá nhân."
        raise Invalid([FieldError("holder_code", "required", field)])
    if kind == "ca-nhan":
        row, person, secret = issue_person_token(
            code, session=s, issued_by=actor, now=now, label=label or None, source_address=address
        )
        role = PERSON_ROLE_VI.get(person.role, person.role)
        return row, secret, f"{person.full_name} ({person.code})", f"Cá nhân: {role}"
    unit = s.scalars(select(Unit).where(Unit.code == code)).one_or_none()
    if unit is None:
        raise Invalid([FieldError("holder_code", "unknown_unit", f"Không có đơn vị mã «{code}».")])
    row, secret = issue_token(
        session=s, role=Role.UNIT, unit=unit, label=label or None, issued_by=actor, now=now,
        source_address=address,
    )  # fmt: skip
    return row, secret, unit.name, "Cán bộ báo cáo của đơn vị: gửi báo cáo của đơn vị"


@router.post("/quan-ly/cap-ma")
def issue(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    typed = posted(form, "holder_kind", "holder_code", "label")
    if form.get(EDIT) == "1":
        return _office_page(request, actor, session, typed=typed)
    now, address = portal.clock(), client_address(request)
    try:
        if form.get(CONFIRMED) != "1":
            _, _, holder, role = dry_run(portal, lambda s: _issue(s, typed, actor, now, address))
            return confirm_page(
                request,
                actor,
                title="Xác nhận cấp mã truy cập",
                lines=[
                    f"Cấp cho: {holder}",
                    f"Quyền: {role}",
                    "Mã chỉ hiện một lần, kèm phiếu bàn giao để in; các mã đang dùng vẫn dùng "
                    "được cho đến khi thu hồi.",
                ],
                action="/quan-ly/cap-ma",
                fields=dict(typed),
                button="Cấp mã",
                back="/quan-ly",
            )
        row, secret, holder, role = _issue(session, typed, actor, now, address)
    except Invalid as error:
        return _office_page(request, actor, session, typed=typed, error=error)
    slip = Slip(
        token_id=row.id,
        holder=holder,
        role=role,
        hint=row.hint,
        secret=secret,
        issued_at=now,
        sign_in_at=portal_of(request).settings.portal_url.rstrip("/") + "/login",
        issued_by=actor.person_name or "Văn phòng",
    )
    response = page(request, "token_slip.html", {"actor": actor, "slip": slip})
    response.headers["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@router.post("/quan-ly/thu-hoi")
def revoke(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    text = str(form.get("token_id") or "").strip()
    row = session.get(AccessToken, int(text)) if text.isdigit() and len(text) < 10 else None
    if row is None or row.revoked_at is not None:
        message = f"Không có mã truy cập số «{text}» đang dùng."
        raise Invalid([FieldError("token_id", "unknown_token", message)], message)
    unit = session.get(Unit, row.unit_id) if row.unit_id else None
    person = session.get(Person, row.person_id) if row.person_id else None
    holder = unit.name if unit else person.full_name if person else (row.label or "Quản trị")
    if form.get(CONFIRMED) != "1":
        return confirm_page(
            request,
            actor,
            title="Xác nhận thu hồi mã truy cập",
            lines=[
                f"Mã số {row.id} ({row.hint}…) của {holder}",
                "Mã bị thu hồi thôi dùng được ngay, kể cả các phiên đang đăng nhập bằng mã này.",
            ],
            action="/quan-ly/thu-hoi",
            fields={"token_id": text},
            button="Thu hồi",
            back="/quan-ly",
            editable=False,
        )
    revoke_tokens(
        session=session,
        revoked_by=actor,
        now=portal.clock(),
        token_id=row.id,
        source_address=client_address(request),
    )
    return done_page(
        request,
        actor,
        title="Đã thu hồi mã truy cập",
        lines=[f"Đã thu hồi mã số {row.id} của {holder}."],
        links=[("/quan-ly", "Về trang quản lý")],
    )
