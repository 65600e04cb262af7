"""The portal's FastAPI application: built by create_app, never at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.resources import files
from pathlib import Path

import anyio
import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from models.db import open_database, session_factory
from portal import (
    actions,
    api,
    dashboard,
    formatting,
    office,
    office_requests,
    outbox_page,
    reports_page,
    unit_page,
    web,
)
from portal.deps import Portal, Turns, install_error_handlers, utc_now
from portal.limits import BodyLimit
from portal.reading import stop_readers
from portal.security import BrowserGuard
from settings import Settings, check_admin_secret, get_settings

HERE = Path(__file__).parent
# Swagger UI's files from the installed fastapi-offline package: /api/docs needs no internet.
SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))

WORKER_THREADS = 40  # anyio's default, set explicitly so the pool below matches it
SPARE_CONNECTIONS = 5


@asynccontextmanager
async def _worker_threads(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
    yield
    await anyio.to_thread.run_sync(stop_readers)


def submission_slots(engine: Engine) -> Turns:
    """SQLite takes one writer at a time: submissions wait their turn here, woken in order,
    rather than in SQLite's busy handler, which sleeps and retries in no order (under 16
    officers the unluckiest waited seconds). PostgreSQL queues on the item's row lock."""
    return Turns(1 if engine.dialect.name == "sqlite" else WORKER_THREADS)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The portal app for `settings` (the environment's by default) and a database engine;
    refuses a guessable admin secret (settings.WeakAdminSecret)."""
    settings = settings or get_settings()
    check_admin_secret(settings)
    # A connection for each worker thread that runs a request's database work: on the
    # default pool (15) a burst of 16 officers left one waiting for a connection, and one
    # that waits 30 s gets a server error. The spare few cover sessions whose commit is
    # still finishing while their thread already serves the next request.
    # An existing, initialised database only (models.db.DatabaseMissing otherwise).
    engine = engine or open_database(
        settings.database_url, pool=(WORKER_THREADS, SPARE_CONNECTIONS)
    )
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
        docs_url=None,  # served below from local files, under the portal's CSP
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_worker_threads,
    )
    app.state.portal = Portal(
        settings=settings,
        sessions=session_factory(engine),
        clock=clock,
        templates=templates,
        submission_slots=submission_slots(engine),
    )
    app.add_middleware(BodyLimit, max_bytes=settings.upload_max_bytes)
    app.add_middleware(BrowserGuard, public_url=settings.portal_url)  # outermost: every answer
    install_error_handlers(app)
    app.include_router(api.router)
    app.include_router(web.router)
    app.include_router(unit_page.router)
    app.include_router(outbox_page.router)
    app.include_router(dashboard.router)
    app.include_router(actions.router)
    app.include_router(office.router)
    app.include_router(office_requests.router)
    app.include_router(reports_page.router)
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER_UI), name="swagger")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs(request: Request) -> Response:
        context = {"title": app.title, "openapi_url": app.openapi_url}
        return templates.TemplateResponse(request, "api_docs.html", context)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
