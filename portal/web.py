"""The reporting officer's pages (Vietnamese): sign in, my items, the form, the receipt."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from access.actor import Actor
from access.scope import check_may_submit
from access.sessions import SESSION_LIFETIME, end_web_session, open_web_session
from access.throttle import TooManyAttempts, record_refusal
from intake.address import ItemAddress
from intake.receipts import get_receipt
from intake.store import SubmitRequest, submit
from plans.vocabulary import ItemKind
from portal.deps import (
    COOKIE,
    LOGIN_COOKIE,
    DbSession,
    Portal,
    PortalState,
    PostedForm,
    SignedIn,
    WebActor,
    check_csrf,
    client_address,
    csrf_matches,
    csrf_of,
    csrf_token,
    portal_of,
    read_submission_file,
)
from portal.views import ItemView, is_submitted, item_template, item_view, list_items, status_vi
from status.states import ItemStatus
from submissions.content import FormSpec, RawSubmission, Upload, safe_filename
from submissions.errors import FieldError, IntakeError, Invalid
from submissions.spreadsheet import ParsedFile
from submissions.values import KIND_VI, PROGRESS_VI

router = APIRouter(include_in_schema=False)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return portal_of(request).templates.TemplateResponse(
        request, name, context, status_code=status_code
    )


def sign_in_redirect(request: Request) -> RedirectResponse:
    """To the sign-in page, which brings the officer back here (query string and all)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)


def local_target(target: str) -> str:
    """Where to go after signing in: a path of this portal, never another site."""
    local = (
        target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target  # browsers read "/\host" as "//host"
        and target.isprintable()
    )
    return target if local else "/"


def _login_page(
    request: Request, target: str, error: str | None, status_code: int = 200, **headers: str
) -> Response:
    """The sign-in form, bound to a fresh random cookie (its form value proves same-site)."""
    secret = secrets.token_urlsafe(32)
    context = {"next": target, "error": error, "actor": None, "csrf": csrf_of(secret)}
    response = _page(request, "login.html", context, status_code=status_code)
    response.headers.update(headers)
    response.set_cookie(
        LOGIN_COOKIE,
        secret,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


def _secure(request: Request) -> bool:
    # Behind the TLS proxy the app sees http: the public address says what officers use.
    return request.url.scheme == "https" or portal_of(request).settings.portal_url.startswith(
        "https:"
    )


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    return _login_page(request, local_target(next), None)


@router.post("/login")
def login(request: Request, portal: PortalState, form: PostedForm, session: DbSession) -> Response:
    """Sign in with an access token: the cookie gets a new page session, never the token."""
    token = str(form.get("token") or "").strip()
    target = local_target(str(form.get("next") or "/"))
    if not csrf_matches(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        expired = "Trang đăng nhập đã hết hạn hoặc không hợp lệ: hãy nhập lại mã truy cập."
        return _login_page(request, target, expired, status_code=403)
    address, now = client_address(request), portal.clock()
    try:
        portal.blocks.check(token, address, now=now)
    except TooManyAttempts as blocked:
        retry = {"Retry-After": str(blocked.retry_after)}
        return _login_page(request, target, blocked.message, status_code=429, **retry)
    opened = open_web_session(
        token,
        session=session,
        admin_secret=portal.admin_secret,
        now=now,
        source_address=address,
    )
    if opened is None:
        record_refusal(
            token,
            session=session,
            blocks=portal.blocks,
            channel="web",
            source_address=address,
            now=now,
        )
        wrong = "Mã truy cập không đúng hoặc đã bị thu hồi."
        return _login_page(request, target, wrong, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        opened[1],
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, portal: PortalState, form: PostedForm, session: DbSession) -> Response:
    """Sign out: the session ends on the server, so a copy of the cookie stops working too."""
    secret = request.cookies.get(COOKIE)
    if secret:
        check_csrf(request, form.get("csrf"))
        end_web_session(
            secret,
            session=session,
            admin_secret=portal.admin_secret,
            now=portal.clock(),
            source_address=client_address(request),
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
def home(request: Request, portal: PortalState, session: DbSession, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_redirect(request)
    now = portal.clock()
    states = list_items(session=session, actor=actor, now=now, upcoming_only=True)
    todo = [s for s in states if not is_submitted(s) and s.status is not ItemStatus.EXCUSED]
    done = [s for s in states if is_submitted(s)]
    # Beyond one unit (the office, a unit head's received reports, a leader's): say whose.
    show_unit = (
        actor.is_admin or actor.unit_id is None or any(s.unit_id != actor.unit_id for s in states)
    )
    return _page(
        request,
        "items.html",
        {
            "actor": actor,
            "heading": "Báo cáo của các đơn vị"
            if actor.is_admin
            else "Báo cáo thuộc phạm vi theo dõi"
            if show_unit
            else "Báo cáo của đơn vị",
            "show_unit": show_unit,
            "todo": todo,
            "done": done,
            "status_vi": status_vi,
            "csrf": csrf_token(request),
            "now": now,
        },
    )


def _form_context(
    request: Request,
    actor: Actor,
    view: ItemView,
    *,
    typed: dict[str, str] | None = None,
    error: IntakeError | None = None,
    mode: str = "form",
    key: str | None = None,
) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    general: list[str] = []
    file_errors: list[str] = []
    if error is not None:
        if mode == "file" and error.fields:
            file_errors = [f.render() for f in error.fields]
        elif not error.fields:
            general.append(error.message)
        for f in error.fields if mode == "form" else ():
            name = _form_field(view.spec, f)
            if name is None:
                general.append(f.message)
            else:
                errors.setdefault(name, []).append(f.message)
    return {
        "actor": actor,
        "view": view,
        "spec": view.spec,
        "state": view.state,
        "status_vi": status_vi(view.state),
        "typed": typed or {},
        "errors": errors,
        "general": general,
        "file_errors": file_errors,
        "error": error,
        "mode": mode,
        # Each form carries its own key; a re-shown form keeps the key it was posted with.
        "key": (key if mode == "form" else None) or uuid.uuid4().hex,
        "file_key": (key if mode == "file" else None) or uuid.uuid4().hex,
        "csrf": csrf_token(request),
        "kinds": KIND_VI,
        "progress_states": PROGRESS_VI,
        "max_upload": portal_of(request).settings.upload_max_bytes,
    }


def _form_field(spec: FormSpec, error: FieldError) -> str | None:
    """The page input an API-style field name belongs to, so the message shows beside it."""
    head, _, rest = error.field.partition(".")
    if head == "values" and rest and spec.target(rest):
        return f"v.{rest}"
    if head == "narrative" and rest:
        section = spec.section_for(rest)
        if section is not None:
            return f"n.{spec.sections.index(section)}"
    if head == "progress" and rest in ("state", "note", "on"):
        return f"progress_{rest}"
    if head == "attachments":
        return "attachments"
    return None


@router.get("/items/{item_id}")
def item_page(
    item_id: int, request: Request, portal: PortalState, session: DbSession, actor: WebActor
) -> Response:
    if actor is None:
        return sign_in_redirect(request)
    view = item_view(item_id, session=session, actor=actor, now=portal.clock())
    return _page(request, "form.html", _form_context(request, actor, view))


def _typed_raw(spec: FormSpec, form: FormData) -> tuple[dict[str, str], RawSubmission]:
    typed = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    values = {t.code: typed.get(f"v.{t.code}") for t in spec.targets}
    narrative = {s: typed.get(f"n.{i}") for i, s in enumerate(spec.sections)}
    progress = None
    if spec.kind is ItemKind.DELIVERABLE:
        progress = {
            "state": typed.get("progress_state"),
            "note": typed.get("progress_note"),
            "on": typed.get("progress_on"),
        }
    return typed, RawSubmission(values=values, narrative=narrative, progress=progress)


def _evidence(form: FormData) -> list[Upload]:
    files = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    return [
        Upload(
            safe_filename(f.filename or "tep"),
            f.content_type or "application/octet-stream",
            f.file.read(),
        )
        for f in files
    ]


@router.post("/items/{item_id}")
async def item_submit(
    item_id: int,
    request: Request,
    portal: PortalState,
    actor: SignedIn,
    form: PostedForm,
    session: DbSession,
) -> Response:
    """The form or a file: a file is read off the event loop first (read_submission_file),
    then the rest (database work) runs in a worker thread."""
    check_csrf(request, form.get("csrf"))
    check_may_submit(actor)
    read: ParsedFile | IntakeError | None = None
    sheet: Upload | None = None
    if form.get("mode") == "file":
        posted = form.get("spreadsheet")
        if not isinstance(posted, UploadFile) or not posted.filename:
            read = Invalid([FieldError("file", "required", "Chưa chọn tệp báo cáo.")])
        else:
            # The item must be the unit's before its file costs the reader any work.
            await run_in_threadpool(
                item_view, item_id, session=session, actor=actor, now=portal.clock()
            )
            content_type = posted.content_type or "application/octet-stream"
            sheet = Upload(safe_filename(posted.filename), content_type, await posted.read())
            try:
                read = await read_submission_file(portal, file=sheet)
            except IntakeError as refusal:
                read = refusal
    return await run_in_threadpool(
        _item_submit, item_id, request, portal, actor, form, session, sheet, read
    )


def _item_submit(
    item_id: int,
    request: Request,
    portal: Portal,
    actor: Actor,
    form: FormData,
    session: Session,
    sheet: Upload | None,
    read: ParsedFile | IntakeError | None,
) -> Response:
    view = item_view(item_id, session=session, actor=actor, now=portal.clock())
    mode = "file" if form.get("mode") == "file" else "form"
    key = str(form.get("idempotency_key") or "") or None
    typed, raw = _typed_raw(view.spec, form)
    sent = SubmitRequest(
        address=ItemAddress(item_id=item_id),
        actor=actor,
        channel="web",
        raw=raw,
        evidence=_evidence(form),
        source_address=client_address(request),
        idempotency_key=key,
    )
    try:
        if isinstance(read, IntakeError):
            raise read
        if mode == "file":
            sent = replace(sent, raw=RawSubmission(), file=sheet, parsed=read)
        with portal.submission_slots:
            receipt = submit(
                portal.sessions,
                sent,
                now=portal.clock(),
                clock=portal.clock,
                data_dir=portal.data_dir,
                max_attachment_bytes=portal.settings.upload_max_bytes,
                max_item_bytes=portal.settings.item_max_stored_bytes,
            )
    except IntakeError as refusal:
        if refusal.status in (401, 403, 404):
            raise
        context = _form_context(
            request, actor, view, typed=typed, error=refusal, mode=mode, key=key
        )
        return _page(request, "form.html", context, status_code=refusal.status)
    suffix = "?gui-lai=1" if receipt.replayed else ""
    return RedirectResponse(f"/receipts/{quote(receipt.receipt_no)}{suffix}", status_code=303)


@router.get("/items/{item_id}/template.{fmt}")
def item_template_file(
    item_id: int, fmt: str, request: Request, session: DbSession, actor: WebActor
) -> Response:
    if actor is None:
        return sign_in_redirect(request)
    if fmt not in ("xlsx", "csv"):
        raise Invalid([FieldError("format", "unsupported_format", "Chỉ có mẫu .xlsx hoặc .csv.")])
    data, media, name = item_template(item_id, fmt, session=session, actor=actor)
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/receipts/{receipt_no}")
def receipt_page(
    receipt_no: str, request: Request, session: DbSession, actor: WebActor
) -> Response:
    if actor is None:
        return sign_in_redirect(request)
    receipt = get_receipt(receipt_no, session=session, actor=actor)
    return _page(
        request,
        "receipt.html",
        {
            "actor": actor,
            "receipt": receipt,
            "replayed": request.query_params.get("gui-lai") == "1",
            "csrf": csrf_token(request),
        },
    )
