"""The office asks units or a group for an ad-hoc report or a deliverable (/quan-ly/yeu-cau)."""

from __future__ import annotations

import re
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from access.actor import Actor
from adhoc.requests import CreatedRequest, RequestSpec, create_request
from models.calendar import load_calendar
from models.org import Unit
from models.plan import Target
from plans.vocabulary import UNIT_KIND_VI, ItemKind, UnitKind
from portal.actions import (
    CONFIRMED,
    EDIT,
    OfficeForm,
    confirm_page,
    done_page,
    dry_run,
    form_page,
    refuse_unless_office,
    sign_in_first,
)
from portal.deps import (
    DbSession,
    PortalState,
    PostedForm,
    WebActor,
    client_address,
)
from submissions.errors import FieldError, IntakeError, Invalid
from submissions.values import ValueProblem, parse_day
from wording.collation import sort_key

router = APIRouter(include_in_schema=False)

KIND_VALUES = frozenset(k.value for k in UnitKind)
TEXT_FIELDS = ("kind", "title", "units", "parents", "due_on", "within", "targets")
MORE_FIELDS = ("optional_targets", "sections", "recipient", "note", "deadline_mode")


def _codes(text: str) -> tuple[str, ...]:
    """Codes typed one per line or separated by commas or spaces."""
    return tuple(dict.fromkeys(c for c in re.split(r"[\s,;]+", text) if c))


def _spec(form: FormData) -> RequestSpec:
    """The form as the service's request; a date or a number that cannot be read is named."""
    errors: list[FieldError] = []
    mode = str(form.get("deadline_mode") or "")
    due_on = within = None
    due_text, within_text = str(form.get("due_on") or "").strip(), str(form.get("within") or "")
    if mode == "ngay" and due_text:
        try:
            due_on = parse_day(due_text)
        except ValueProblem as problem:
            errors.append(FieldError("due_on", problem.code, f"Hạn nộp: {problem.message}"))
    elif mode == "so-ngay" and within_text.strip():
        if within_text.strip().isdigit() and len(within_text.strip()) < 4:
            within = int(within_text)
        else:
            errors.append(
                FieldError(
                    "within_working_days",
                    "not_a_number",
                    f"Số ngày làm việc: «{within_text.strip()}» không phải một số (ví dụ 5).",
                )
            )
    elif mode not in ("ngay", "so-ngay"):
        errors.append(
            FieldError("deadline", "required", "Chọn cách ghi hạn nộp: một ngày hoặc số ngày.")
        )
    if errors:
        raise Invalid(errors, "Yêu cầu chưa hợp lệ.")
    kind = str(form.get("kind") or "report")
    return RequestSpec(
        kind=ItemKind.DELIVERABLE if kind == "deliverable" else ItemKind.REPORT,
        title=str(form.get("title") or ""),
        units=_codes(str(form.get("units") or "")),
        unit_kinds=tuple(str(k) for k in form.getlist("unit_kinds") if str(k) in KIND_VALUES),
        parents=_codes(str(form.get("parents") or "")),
        targets=tuple((c, True) for c in _codes(str(form.get("targets") or "")))
        + tuple((c, False) for c in _codes(str(form.get("optional_targets") or ""))),
        sections=tuple(
            line.strip() for line in str(form.get("sections") or "").splitlines() if line.strip()
        ),
        due_on=due_on,
        within_working_days=within,
        recipient=str(form.get("recipient") or "").strip() or None,
        instructions=str(form.get("note") or "").strip() or None,
    )


def _create(
    s: Session, form: FormData, actor: Actor, now: datetime, address: str | None
) -> CreatedRequest:
    return create_request(
        _spec(form),
        session=s,
        actor=actor,
        now=now,
        calendar=load_calendar(session=s),
        source_address=address,
    )


def _form_page(
    request: Request,
    actor: Actor,
    session: Session,
    form: FormData | None = None,
    error: IntakeError | None = None,
) -> Response:
    typed = {n: str(form.get(n) or "") for n in TEXT_FIELDS + MORE_FIELDS} if form else {}
    context = {
        "actor": actor,
        "typed": typed,
        "chosen_kinds": [str(k) for k in form.getlist("unit_kinds")] if form else [],
        "unit_kinds": UNIT_KIND_VI,
        "targets": sorted(
            session.execute(select(Target.code, Target.name)).all(), key=lambda t: sort_key(t[1])
        ),
        "parents": session.execute(
            select(Unit.code, Unit.name)
            .where(Unit.id.in_(select(Unit.parent_id).where(Unit.parent_id.is_not(None))))
            .order_by(Unit.code)
        ).all(),
    }
    renamed = {"within_working_days": "within"}
    return form_page(request, "office_request.html", context, error, renamed=renamed)


@router.get("/quan-ly/yeu-cau")
def request_form(request: Request, session: DbSession, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_first(request)
    refuse_unless_office(actor)
    return _form_page(request, actor, session)


@router.post("/quan-ly/yeu-cau")
def request_post(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    if form.get(EDIT) == "1":
        return _form_page(request, actor, session, form)
    now, address = portal.clock(), client_address(request)
    try:
        if form.get(CONFIRMED) != "1":
            preview = dry_run(portal, lambda s: _create(s, form, actor, now, address))
            shown = ", ".join(preview.units[:20]) + (" …" if len(preview.units) > 20 else "")
            kind = "báo cáo đột xuất" if preview.kind == ItemKind.REPORT else "giao việc"
            fields: dict[str, str | list[str]] = {
                n: str(form.get(n) or "") for n in TEXT_FIELDS + MORE_FIELDS
            }
            fields["unit_kinds"] = [str(k) for k in form.getlist("unit_kinds")]
            return confirm_page(
                request,
                actor,
                title="Xác nhận yêu cầu",
                lines=[
                    f"Loại: {kind}; nội dung: {str(form.get('title') or '').strip()}",
                    f"Số đơn vị phải thực hiện: {len(preview.units)} ({shown})",
                    f"Hạn nộp: hết ngày {preview.deadline_on:%d/%m/%Y}",
                    "Các đơn vị thấy yêu cầu trong danh sách việc cần làm và được nhắc như "
                    "báo cáo của kế hoạch.",
                ],
                action="/quan-ly/yeu-cau",
                fields=fields,
                button="Gửi yêu cầu",
                back="/quan-ly/yeu-cau",
            )
        created = _create(session, form, actor, now, address)
    except Invalid as error:
        return _form_page(request, actor, session, form, error)
    return done_page(
        request,
        actor,
        title="Đã gửi yêu cầu",
        lines=[
            f"Đã tạo yêu cầu {created.label} (mã {created.code}) cho {len(created.units)} đơn vị; "
            f"hạn nộp hết ngày {created.deadline_on:%d/%m/%Y}.",
        ],
        links=[("/quan-ly", "Về trang quản lý"), ("/quan-ly/yeu-cau", "Yêu cầu khác")],
    )
