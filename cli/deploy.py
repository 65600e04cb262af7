"""`dondoc deploy`: register the deployments with a Prefect server for a pool of workers."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, err_console, fail, now, read_session, warn_past_plans
from deploy.register import DEFAULT_POOL
from models.calendar import load_calendar
from schedules.calendar import local_date
from settings import HOME_VARIABLE


def deploy(
    pool: Annotated[
        str,
        typer.Option(help="Work pool (loại process) mà các worker lấy việc; tạo mới nếu chưa có."),
    ] = DEFAULT_POOL,
    wait: Annotated[float, typer.Option(help="Số giây chờ máy chủ Prefect trả lời.", min=0)] = 0,
) -> None:
    """Đăng ký mọi deployment với máy chủ Prefect (lịch tổng hợp của mọi kế hoạch chưa hết năm).

    Sau đó các worker chạy bằng `prefect worker start --pool POOL` sẽ thực hiện các flow. Chạy
    lại lệnh này sau khi nạp kế hoạch đã sửa hoặc kế hoạch năm mới: ngày tổng hợp theo các kế
    hoạch; kế hoạch đã hết năm không còn lịch nào.
    """
    from settings import get_settings
    from settings.prefect import prefect_client

    with prefect_client(get_settings()):  # PREFECT_API_URL may be in the home's .env
        _register(pool, wait)


def _register(pool: str, wait: float) -> None:
    from prefect.settings import PREFECT_API_URL, get_current_settings
    from prefect.types.entrypoint import EntrypointType

    from deploy.automations import alert_deployment, ensure_automations
    from deploy.deployments import build_deployments
    from deploy.register import ensure_process_pool, register
    from deploy.server import unauthenticated_api, wait_healthy

    api_url = PREFECT_API_URL.value()  # dondoc's settings, else the active Prefect profile
    if not api_url:
        fail(
            "chưa đặt PREFECT_API_URL: `dondoc deploy` đăng ký deployment với một máy chủ "
            "Prefect đang chạy (ví dụ PREFECT_API_URL=http://127.0.0.1:4200/api); "
            "để chạy mọi việc trên máy này mà không cần worker, dùng `dondoc serve`"
        )
    auth = get_current_settings().api.auth_string
    unsafe = unauthenticated_api(str(api_url), auth.get_secret_value() if auth else None)
    if unsafe:
        fail(unsafe)
    if not auth:
        err_console.print(
            "[yellow]Chú ý:[/] API Prefect chưa đặt mật khẩu (PREFECT_API_AUTH_STRING). Chỉ "
            "chấp nhận khi giao diện Prefect không được mở ra ngoài máy này (kể cả qua proxy).",
            soft_wrap=True,
        )
    if wait:
        try:
            wait_healthy(str(api_url).rstrip("/"), wait)
        except RuntimeError:
            fail(f"máy chủ Prefect tại {api_url} không trả lời trong {wait:g} giây")
    if not os.environ.get(HOME_VARIABLE, "").strip():
        err_console.print(
            f"[yellow]Chú ý:[/] chưa đặt {HOME_VARIABLE}. Mỗi worker cần {HOME_VARIABLE} trong môi "
            "trường của nó (ví dụ /var/lib/dondoc) để đọc đúng cấu hình và ghi tệp đúng chỗ.",
            soft_wrap=True,
        )
    today = local_date(now())
    with read_session() as session:
        calendar = load_calendar(session=session)
        deployments = build_deployments(
            session=session,
            calendar=calendar,
            today=today,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        warn_past_plans(session=session, calendar=calendar, today=today, summary=True)
    alerting = alert_deployment(EntrypointType.MODULE_PATH)
    try:
        if ensure_process_pool(pool):
            console.print(f"Đã tạo work pool [bold]{pool}[/] (loại process).")
        registered = register([*deployments, alerting], pool=pool)
        automations = ensure_automations(f"{alerting.flow_name}/{alerting.name}")
    except ValueError as exc:
        fail(str(exc))
    except Exception as exc:  # the server is down or refuses: say so, no stack trace
        fail(f"máy chủ Prefect tại {api_url} không nhận: {exc}")
    table = Table(
        "Deployment", "Điểm vào", "Số lịch chạy", title=f"Các deployment trên work pool {pool}"
    )
    for r in registered:
        table.add_row(r.name, r.entrypoint, str(r.schedules))
    console.print(table)
    for automation in automations:
        state = "đã tạo" if automation.created else "đã có, đã cập nhật"
        console.print(f"Automation {state}: {automation.name}")
    console.print(f"Khởi động worker bằng lệnh: prefect worker start --pool {pool}")
