"""Compiled reports (/bao-cao): each period's files to download, and "Tổng hợp ngay".

Compiling now goes to Prefect's `compile-report/adhoc` deployment where a Prefect API is
configured (the run, its logs and artifact are then in Prefect), else to a thread of the
portal (reports.ondemand.CompileJobs); either way the status page follows it.

Who reads: access.scope.may_read_reports (the office, and leaders in charge, to whom the
compiled report is addressed); only the office compiles.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from access.actor import Actor
from access.audit import record_event
from access.scope import may_act_for_office, may_read_reports
from models.items import DueItem
from portal.actions import (
    CONFIRMED,
    OfficeForm,
    confirm_page,
    page,
    refuse_unless_office,
    sign_in_first,
)
from portal.deps import (
    DbSession,
    Portal,
    PortalState,
    PostedForm,
    WebActor,
    client_address,
)
from portal.report_runs import (
    OtherFormatsRunning,
    PrefectUnavailable,
    read_run,
    start_run,
    unfinished_run,
)
from reports.compile import Format
from reports.document import ReportError
from reports.ondemand import (
    LISTED,
    MEDIA,
    PDF,
    AlreadyRunning,
    CompileJobs,
    compile_period,
    compiled_file,
    compiled_periods,
    current_pdf,
    docx_to_pdf,
    libreoffice,
    reports_dir,
    valid_period,
)
from submissions.errors import FieldError, Forbidden, Invalid, NotFound
from wording import vietnamese as vi

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
REFRESH_S = 3
_CREATING = threading.Lock()
# One compile-now at a time in this process reads Prefect's unfinished runs and starts one:
# two clicks at once would otherwise both find none and start two runs of one period.
_STARTING = threading.Lock()
FORMAT_VI = {
    "docx": "Word (DOCX)",
    "xlsx": "Excel (XLSX)",
    "html": "Trang web (HTML)",
    PDF: "PDF",
    "md": "Markdown",
    "json": "JSON",
}


def _refuse_unless_reader(actor: Actor) -> None:
    if not may_read_reports(actor):
        raise Forbidden(
            "reports_refused",
            "Chỉ văn phòng và lãnh đạo phụ trách được xem báo cáo tổng hợp.",
        )


def compile_jobs(portal: Portal, request: Request) -> CompileJobs:
    """The portal's background compilations, created with the app's first use of them."""
    state = request.app.state
    with _CREATING:  # two first requests at once must share one registry
        if getattr(state, "compile_jobs", None) is None:
            state.compile_jobs = CompileJobs(clock=portal.clock)
    jobs: CompileJobs = state.compile_jobs
    return jobs


def _formats_offered() -> list[str]:
    return [f for f in FORMAT_VI if f != PDF or libreoffice() is not None]


def _periods(session: Session) -> list[str]:
    """The calendar periods items are due for, and their years; newest first."""
    labels = {
        p for p in session.scalars(select(DueItem.period_label).distinct()) if p and valid_period(p)
    }
    labels |= {p[:4] for p in labels}
    return sorted(labels, reverse=True)


@router.get("/bao-cao")
def reports(request: Request, portal: PortalState, session: DbSession, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_first(request)
    _refuse_unless_reader(actor)
    context: dict[str, Any] = {
        "actor": actor,
        "compiled": compiled_periods(portal.data_dir),
        "may_compile": may_act_for_office(actor),
        "periods": _periods(session),
        "formats": _formats_offered(),
        "format_vi": FORMAT_VI,
        "pdf_on_demand": libreoffice() is not None,
        "prefect": bool(portal.settings.prefect_api_url),
    }
    return page(request, "reports.html", context)


def _checked(form_period: str, formats: list[str]) -> tuple[str, list[str]]:
    errors = []
    period = form_period.strip()
    if not valid_period(period):
        errors.append(
            FieldError("period", "required", "Chưa chọn kỳ tổng hợp (ví dụ quý I năm 2024).")
        )
    offered = _formats_offered()
    chosen = [f for f in dict.fromkeys(formats) if f in offered]
    if not chosen:
        errors.append(FieldError("formats", "required", "Chọn ít nhất một định dạng tệp."))
    if errors:
        raise Invalid(errors, "Chưa tổng hợp được.")
    return period, chosen


@router.post("/bao-cao/tong-hop")
def compile_now(
    request: Request,
    portal: PortalState,
    actor: OfficeForm,
    form: PostedForm,
    session: DbSession,
) -> Response:
    period, formats = _checked(
        str(form.get("period") or ""), [str(f) for f in form.getlist("formats")]
    )
    settings = portal.settings
    on_prefect = bool(settings.prefect_api_url)
    if form.get(CONFIRMED) != "1":
        return _confirm(request, actor, period, formats, on_prefect=on_prefect)
    details: dict[str, Any] = {"formats": formats, "via": "prefect" if on_prefect else "portal"}
    try:
        with _STARTING:
            # Read from Prefect before the audit row takes SQLite's write lock: under it, only
            # the run's creation.
            running = (
                _prefect(lambda: unfinished_run(settings, period, _flow(formats)))
                if on_prefect
                else None
            )
            event = record_event(
                session=session,
                actor=actor,
                action="report.compile",
                object_type="report",
                object_id=period,
                source_address=client_address(request),
                details=details,
                now=portal.clock(),
            )
            session.flush()  # a record that cannot be written stops here, before anything starts
            if not on_prefect:
                target = _start_here(request, portal, period, formats, actor)
            else:
                run_id = running or _prefect(lambda: start_run(settings, period, _flow(formats)))
                target = f"/bao-cao/prefect/{run_id}"
    except OtherFormatsRunning as busy:
        raise _busy(period, formats, busy.formats) from None
    event.details = {**details, "run": target}
    return RedirectResponse(target, status_code=303)


def _confirm(
    request: Request, actor: Actor, period: str, formats: list[str], *, on_prefect: bool
) -> Response:
    where = (
        "trên Prefect (bản chạy, nhật ký và kết quả xem được trong Prefect)"
        if on_prefect
        else "ngay trên máy chủ cổng báo cáo"
    )
    return confirm_page(
        request,
        actor,
        title="Xác nhận tổng hợp ngay",
        lines=[
            f"Kỳ: {vi.period(period)}",
            "Định dạng: " + ", ".join(FORMAT_VI[f] for f in formats),
            f"Tổng hợp số liệu nhận đến thời điểm này, {where}; tệp của lần tổng hợp "
            "trước cùng kỳ được thay bằng tệp mới.",
        ],
        action="/bao-cao/tong-hop",
        fields={"period": period, "formats": formats},
        button="Tổng hợp ngay",
        back="/bao-cao",
        editable=False,
    )


def _formats_vi(formats: Iterable[str]) -> str:
    """The formats as the form lists them, any other (Prefect's run) after them."""
    order = list(FORMAT_VI)
    ranked = sorted(formats, key=lambda f: order.index(f) if f in order else len(order))
    return ", ".join(FORMAT_VI.get(f, f) for f in ranked)


def _busy(period: str, asked: list[str], running: set[str]) -> Invalid:
    """One compilation of a period at a time: one writing other formats is waited for (it
    replaces the period's files), not followed as if it wrote those asked for."""
    missing = [f for f in asked if f not in running]
    return Invalid(
        [
            FieldError(
                "formats",
                "already_running",
                f"Đang có một lần tổng hợp báo cáo {vi.period(period)} với định dạng "
                f"{_formats_vi(running)}. Chờ lần đó xong rồi bấm «Tổng hợp ngay» lại để có "
                f"{_formats_vi(missing)}.",
            )
        ],
        "Chưa tổng hợp được.",
    )


def _flow(formats: list[str]) -> list[str]:
    """The formats the flow writes: a PDF is made from the DOCX when downloaded."""
    flow = [f for f in formats if f != PDF]
    if PDF in formats and Format.DOCX.value not in flow:
        flow.append(Format.DOCX.value)
    return flow


def _prefect(call: Callable[[], T]) -> T:
    """`call` to Prefect's API; its failure said in Vietnamese."""
    try:
        return call()
    except PrefectUnavailable:
        raise Invalid(
            [
                FieldError(
                    "period",
                    "prefect_unavailable",
                    "Không kết nối được Prefect hoặc chưa đăng ký lịch chạy «compile-report/"
                    "adhoc» (lệnh dondoc deploy): chưa tổng hợp.",
                )
            ],
            "Chưa tổng hợp được.",
        ) from None


def _start_here(
    request: Request, portal: Portal, period: str, formats: list[str], actor: Actor
) -> str:
    jobs = compile_jobs(portal, request)
    engine = portal.sessions.kw["bind"]
    now = portal.clock()

    def work() -> list[Path]:
        return compile_period(
            engine, period=period, formats=formats, now=now, data_dir=portal.data_dir
        )

    try:
        job = jobs.start(period, formats, actor.label, work)
    except AlreadyRunning as running:  # one compilation at a time per period
        if not set(formats) <= set(running.job.formats):
            raise OtherFormatsRunning(set(running.job.formats)) from None
        job = running.job  # it writes what was asked for: follow it
    return f"/bao-cao/tong-hop/{job.job_id}"


@router.get("/bao-cao/tong-hop/{job_id}")
def job_status(job_id: int, request: Request, portal: PortalState, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_first(request)
    refuse_unless_office(actor)
    job = compile_jobs(portal, request).get(job_id)
    if job is None:
        raise NotFound(
            "unknown_job", f"Không có lần tổng hợp số {job_id} (cổng đã khởi động lại?)."
        )
    context = {
        "actor": actor,
        "period": job.period,
        "state_vi": job.state_vi,
        "finished": job.finished,
        "failed": job.error is not None,
        "error": job.error,
        "files": job.files,
        "refresh": REFRESH_S,
        "prefect_run": None,
    }
    return page(request, "report_job.html", context)


@router.get("/bao-cao/prefect/{run_id}")
def prefect_status(run_id: str, request: Request, portal: PortalState, actor: WebActor) -> Response:
    if actor is None:
        return sign_in_first(request)
    refuse_unless_office(actor)
    if not portal.settings.prefect_api_url or not re.fullmatch(r"[0-9a-f-]{36}", run_id):
        raise NotFound("unknown_run", "Không có lần tổng hợp này trên Prefect.")
    try:
        run = read_run(portal.settings, run_id)
    except PrefectUnavailable:
        raise NotFound("unknown_run", "Không đọc được lần tổng hợp này trên Prefect.") from None
    context = {
        "actor": actor,
        "period": run.period,
        "state_vi": run.state_vi,
        "finished": run.finished,
        "failed": run.state in ("FAILED", "CRASHED", "CANCELLED"),
        "error": None,
        "files": (),
        "refresh": REFRESH_S,
        "prefect_run": run,
    }
    return page(request, "report_job.html", context)


@router.get("/bao-cao/{period}/{name}")
async def download(period: str, name: str, request: Request, actor: WebActor) -> Response:
    """A compiled file; a PDF is made from the period's DOCX on first download."""
    if actor is None:
        return sign_in_first(request)
    _refuse_unless_reader(actor)
    data_dir: Path = request.app.state.portal.data_dir
    path = compiled_file(data_dir, period, name)
    if path is not None and path.suffix == ".pdf" and not current_pdf(path):
        path = None  # made from an earlier compilation's DOCX: made again from the new one
    if path is None and name.endswith(".pdf") and libreoffice() is not None:
        docx = compiled_file(data_dir, period, name[:-4] + ".docx")
        if docx is not None:
            try:
                path = await run_in_threadpool(docx_to_pdf, docx)
            except ReportError as exc:
                raise NotFound("pdf_failed", str(exc)) from None
    if path is None:
        raise NotFound("unknown_file", f"Không có tệp «{name}» của kỳ {vi.period(period)}.")
    fmt = path.suffix[1:]
    assert fmt in LISTED and path.parent == reports_dir(data_dir, period)
    return FileResponse(path, media_type=MEDIA[fmt], filename=path.name)
