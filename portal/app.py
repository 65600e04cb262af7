"""The portal's FastAPI application: built by create_app, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException

from models.db import make_engine, session_factory
from portal import formatting
from portal.limits import BodyLimit
from settings import Settings, get_settings
from submissions.errors import IntakeError

HERE = Path(__file__).parent

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


@dataclass(frozen=True)
class Portal:
    """What every request handler needs; lives on app.state.portal."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    templates: Jinja2Templates

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @property
    def admin_secret(self) -> str | None:
        token = self.settings.admin_token
        return token.get_secret_value() if token is not None else None


def portal_of(request: Request) -> Portal:
    portal: Portal = request.app.state.portal
    return portal


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


def _validation_fields(exc: RequestValidationError) -> list[dict[str, Any]]:
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
            code, message = kind, f"Trường «{name}» không hợp lệ: {err.get('msg', '')}."
        fields.append({"field": name, "code": code, "message": message})
    return fields


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(IntakeError)
    async def _intake(request: Request, exc: IntakeError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = _validation_fields(exc)
        malformed = any(f["code"] == "malformed_json" for f in fields)
        body = {
            "error": {
                "code": "malformed_json" if malformed else "invalid",
                "message": "Dữ liệu gửi lên chưa hợp lệ.",
                "fields": fields,
            }
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # Values the database cannot even compare (a NUL character, a number out of range)
        # come from the request, never from stored data: the client's error, not a crash.
        return error_response(
            request,
            IntakeError(
                "invalid_characters", "Dữ liệu gửi lên có ký tự hoặc số không hợp lệ.", status=422
            ),
        )

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if exc.status_code == 413 else _HTTP_VI.get(exc.status_code)
        error = IntakeError(
            f"http_{exc.status_code}", str(message or exc.detail), status=exc.status_code
        )
        return error_response(request, error, **(exc.headers or {}))


WORKER_THREADS = 40  # anyio's default, set explicitly so the pool above matches it
SPARE_CONNECTIONS = 5


@asynccontextmanager
async def _worker_threads(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The portal app for `settings` (the environment's by default) and a database engine."""
    from portal import api, web  # the routers import this module's helpers

    settings = settings or get_settings()
    # A connection for each worker thread that runs a request's database work: on the
    # default pool (15) a burst of 16 officers left one waiting for a connection, and one
    # that waits 30 s gets a server error. The spare few serve async handlers.
    engine = engine or make_engine(settings.database_url, pool=(WORKER_THREADS, SPARE_CONNECTIONS))
    templates = Jinja2Templates(directory=HERE / "templates")
    formatting.install(templates.env)
    app = FastAPI(
        title="dondoc: cổng báo cáo",
        description=(
            "Nhận báo cáo của các đơn vị: danh sách báo cáo phải gửi, gửi báo cáo (JSON hoặc tệp "
            "mẫu XLSX/CSV), biên nhận. Xác thực bằng `Authorization: Bearer <mã truy cập>`; "
            "gửi lại an toàn với `Idempotency-Key`."
        ),
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_worker_threads,
    )
    app.state.portal = Portal(
        settings=settings,
        sessions=session_factory(engine),
        clock=clock,
        templates=templates,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.upload_max_bytes)
    _install_handlers(app)
    app.include_router(api.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
