"""What the portal's handlers depend on: the portal's state, a database session, the caller,
and the one mapping of refusals to responses (JSON on the API, a Vietnamese page elsewhere)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from access.actor import Actor
from access.scope import check_may_submit, may_act_for_office
from access.sessions import resolve_web_session
from access.throttle import Blocks, TooManyAttempts, record_refusal
from access.tokens import authenticate, hash_token
from portal.reading import read_in_reader
from settings import Settings
from status.kept import Kept
from submissions.content import Upload
from submissions.errors import FieldError, Forbidden, IntakeError, Invalid, Unauthorized
from submissions.spreadsheet import ParsedFile, load_json
from wording.validation import pydantic_reason

# The page session's secret (models.access.WebSession), never the access token itself.
COOKIE = "dondoc_session"
# A random value the sign-in form is bound to, before there is a session.
LOGIN_COOKIE = "dondoc_login"

_HTTP_VI = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa đăng nhập hoặc mã truy cập không đúng.",
    403: "Không có quyền truy cập.",
    404: "Không tìm thấy trang hoặc dữ liệu yêu cầu.",
    405: "Phương thức không được hỗ trợ.",
    413: "Dữ liệu gửi lên quá lớn.",
}


def utc_now() -> datetime:
    """The portal's clock: the only place it reads the time (tests pass their own)."""
    return datetime.now(UTC)


class Turns:
    """At most `slots` threads inside at once; the others get in in the order they came.

    threading.Semaphore lets the thread that just left take its slot straight back, so under
    a steady stream of work one waiter can starve for many seconds: here a leaving thread
    hands its slot to the longest waiting one.
    """

    def __init__(self, slots: int) -> None:
        self._lock = threading.Lock()
        self._free = slots
        self._waiting: deque[threading.Lock] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the thread that hands its slot over

    def __exit__(self, *_: object) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._free += 1


@dataclass(frozen=True)
class Portal:
    """What every request handler needs; lives on app.state.portal."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    templates: Jinja2Templates
    # Submissions stored at once; the others wait their turn here (see app.submission_slots).
    submission_slots: Turns
    # Addresses and tokens blocked after too many refused sign-ins (access.throttle).
    blocks: Blocks = field(default_factory=Blocks)
    # The dashboard's answers, reused while the database says they still hold (status.kept).
    kept: Kept = field(default_factory=Kept)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def admin_secret(self) -> str | None:
        token = self.settings.admin_token
        return token.get_secret_value() if token is not None else None


async def read_submission_file(
    portal: Portal, *, file: Upload | None = None, payload: str | None = None
) -> ParsedFile:
    """The one way the portal reads a submitted file (XLSX, CSV, JSON) or JSON payload.

    In the reader process (portal.reading): the event loop and the request threads keep
    serving, and hostile files queue behind each other in a process of lower priority.
    read_upload bounds each file's work (cells, rows, columns, time) and refuses beyond.
    """
    if file is not None:
        return await read_in_reader(file.filename, file.data)
    assert payload is not None
    data = payload.encode("utf-8", "surrogatepass")  # a lone surrogate is refused, not a crash
    return await read_in_reader(None, data)


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


def db_session(request: Request) -> Iterator[Session]:
    """The request's session, in one transaction: committed when the handler returns (before
    the response is sent), rolled back when it raises. It connects on its first query."""
    with portal_of(request).sessions.begin() as session:
        yield session


async def form_data(request: Request) -> FormData:
    """The posted form, read once (Starlette keeps it for the request)."""
    return await request.form()


async def _portal(request: Request) -> Portal:
    # async: FastAPI would run a plain function in a worker thread, for a dictionary lookup.
    return portal_of(request)


PortalState = Annotated[Portal, Depends(_portal)]
DbSession = Annotated[Session, Depends(db_session, scope="function")]
PostedForm = Annotated[FormData, Depends(form_data)]


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- who is calling -------------------------------------------------------------------------
# The actor lookups read in a short session of their own: a connection is held only while a
# worker thread uses it, never while the request waits for a thread (see app.WORKER_THREADS).

bearer = HTTPBearer(
    auto_error=False,
    description="Mã truy cập của đơn vị (lệnh `dondoc token issue --unit U`), của một người "
    "(`dondoc token issue --person P`) hoặc của quản trị.",
)


def api_actor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The API caller; 401 without a valid, unrevoked access token (page sessions refused)."""
    if credentials is None:
        raise Unauthorized(
            "unauthorized", "Thiếu mã truy cập: gửi kèm «Authorization: Bearer <mã truy cập>»."
        )
    portal = portal_of(request)
    secret, address = credentials.credentials, client_address(request)
    portal.blocks.check(secret, address, now=portal.clock())
    with portal.sessions.begin() as session:
        actor = authenticate(secret, session=session, admin_secret=portal.admin_secret)
        if actor is None:
            record_refusal(
                secret,
                session=session,
                blocks=portal.blocks,
                channel="api",
                source_address=address,
                now=portal.clock(),
            )
    if actor is None:
        raise Unauthorized("unauthorized", "Mã truy cập không đúng hoặc đã bị thu hồi.")
    return actor


async def admin_actor(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    """Admin-only endpoints refuse unit and person tokens with 403 (the office only)."""
    if not may_act_for_office(actor):
        raise Forbidden("admin_only", "Chỉ quản trị (cán bộ tổng hợp) được làm việc này.")
    return actor


def web_actor(request: Request) -> Actor | None:
    """The signed-in officer of a page request, from the session in the HttpOnly cookie;
    an access token put in the cookie is refused."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        return None
    portal = portal_of(request)
    with portal.sessions() as session:
        return resolve_web_session(
            secret, session=session, admin_secret=portal.admin_secret, now=portal.clock()
        )


WebActor = Annotated[Actor | None, Depends(web_actor)]


async def signed_in(actor: WebActor) -> Actor:
    """A page post's officer: 401 without a live page session, before the body is read."""
    if actor is None:
        raise Unauthorized(
            "unauthorized", "Phiên đăng nhập đã hết: hãy đăng nhập lại bằng mã truy cập."
        )
    return actor


async def api_submitter(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    """An API caller who submits: a leader in charge is refused (403) before the body is read."""
    check_may_submit(actor)
    return actor


ApiActor = Annotated[Actor, Depends(api_actor)]
ApiSubmitter = Annotated[Actor, Depends(api_submitter)]
AdminActor = Annotated[Actor, Depends(admin_actor)]
SignedIn = Annotated[Actor, Depends(signed_in)]


def csrf_of(secret: str) -> str:
    """The form value bound to a cookie's secret; a cross-site form cannot know it."""
    return hmac.new(hash_token(secret).encode(), b"dondoc-csrf", hashlib.sha256).hexdigest()[:32]


def csrf_token(request: Request) -> str:
    """The value every signed-in page form carries, bound to the page session."""
    return csrf_of(request.cookies.get(COOKIE, ""))


def csrf_matches(given: object, secret: str | None) -> bool:
    if not secret or not isinstance(given, str):
        return False
    return hmac.compare_digest(given, csrf_of(secret))


def check_csrf(request: Request, given: object) -> None:
    if not csrf_matches(given, request.cookies.get(COOKIE)):
        raise Forbidden(
            "csrf",
            "Phiên làm việc không hợp lệ hoặc đã hết hạn: hãy tải lại trang rồi gửi lại.",
        )


# --- refusals as responses ------------------------------------------------------------------


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def error_response(request: Request, error: IntakeError, **headers: str) -> Response:
    """JSON for the API, a Vietnamese page for a browser."""
    if is_api(request):
        return JSONResponse(error.as_dict(), status_code=error.status, headers=headers or None)
    return portal_of(request).templates.TemplateResponse(
        request,
        "error.html",
        {"error": error, "actor": None},
        status_code=error.status,
        headers=headers or None,
    )


def _validation_fields(exc: RequestValidationError) -> list[FieldError]:
    fields = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        name = ".".join(loc) or "body"
        kind = err.get("type", "invalid")
        if kind == "extra_forbidden":
            code, message = "unknown_field", f"Trường «{name}» không hợp lệ."
        elif kind == "missing":
            code, message = "required", f"Thiếu trường «{name}»."
        elif kind == "json_invalid":
            name, code, message = "body", "malformed_json", "Nội dung JSON không đọc được."
        else:
            reason = pydantic_reason(err)
            code, message = kind, f"Trường «{name}» không hợp lệ: {reason}."
        fields.append(FieldError(name, code, message))
    return fields


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IntakeError)
    if isinstance(exc, TooManyAttempts):
        return error_response(request, exc, **{"Retry-After": str(exc.retry_after)})
    return error_response(request, exc)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """pydantic's refusals, in Vietnamese: JSON on the API, the error page elsewhere."""
    assert isinstance(exc, RequestValidationError)
    fields = _validation_fields(exc)
    malformed = any(f.code == "malformed_json" for f in fields)
    code = "malformed_json" if malformed else "invalid"
    return error_response(request, IntakeError(code, "Dữ liệu gửi lên chưa hợp lệ.", fields))


async def _unstorable(request: Request, exc: Exception) -> Response:
    # Values the database cannot even compare (a NUL character, a number out of range)
    # come from the request, never from stored data: the client's error, not a crash.
    return error_response(
        request,
        IntakeError(
            "invalid_characters", "Dữ liệu gửi lên có ký tự hoặc số không hợp lệ.", status=422
        ),
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code in (408, 413) else _HTTP_VI.get(exc.status_code)
    error = IntakeError(
        f"http_{exc.status_code}", str(message or exc.detail), status=exc.status_code
    )
    return error_response(request, error, **(exc.headers or {}))


class JsonBodyRoute(APIRoute):
    """An API route whose JSON body is first read by load_json: a body FastAPI's own
    json.loads chokes on (not UTF-8, nested 100,000 deep, a number of 5,000 digits) or would
    half-keep (a key given twice, the last silently winning) is refused saying why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            media = request.headers.get("content-type", "").partition(";")[0].strip()
            if media == "application/json" or media.endswith("+json"):
                body = await request.body()  # kept by Starlette for the handler
                if body:
                    try:
                        # Off the event loop: a 10 MB body takes a while to read.
                        await run_in_threadpool(load_json, body, "body")
                    except Invalid as refused:
                        refused.code = "malformed_json"
                        raise
            return await handler(request)

        return checked


def install_error_handlers(app: FastAPI) -> None:
    """Every refusal answered the same way, whichever handler or dependency raised it."""
    app.add_exception_handler(IntakeError, _refused)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(HTTPException, _http_error)
