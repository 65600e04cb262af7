"""`dondoc deploy`: register the deployments with a Prefect server for a pool of workers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import console, fail, now, read_session, warn_past_plans
from deploy.register import DEFAULT_POOL
from models.calendar import load_calendar
from schedules.calendar import local_date
from settings import HOME_VARIABLE, get_settings


def pass_home_to_runs(deployments: Sequence[Any]) -> None:
    """A home that is only this command's working directory (no DONDOC_HOME in its
    environment) goes with each deployment, so a worker started elsewhere runs the flows on
    the same .env and paths. An explicit DONDOC_HOME is the workers' environment's to give."""
    if os.environ.get(HOME_VARIABLE, "").strip():
        return
    home = str(get_settings().home)
    for deployment in deployments:
        variables = dict(deployment.job_variables or {})
        variables["env"] = {**variables.get("env", {}), HOME_VARIABLE: home}
        deployment.job_variables = variables


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
    from prefect.settings import PREFECT_API_URL
    from prefect.types.entrypoint import EntrypointType

    from deploy.deployments import build_deployments
    from deploy.register import ensure_process_pool, register
    from deploy.server import wait_healthy

    api_url = PREFECT_API_URL.value()  # the environment or the active Prefect profile
    if not api_url:
        fail(
            "chưa đặt PREFECT_API_URL: `dondoc deploy` đăng ký deployment với một máy chủ "
            "Prefect đang chạy (ví dụ PREFECT_API_URL=http://127.0.0.1:4200/api); "
            "để chạy mọi việc trên máy này mà không cần worker, dùng `dondoc serve`"
        )
    if wait:
        try:
            wait_healthy(str(api_url).rstrip("/"), wait)
        except RuntimeError:
            fail(f"máy chủ Prefect tại {api_url} không trả lời trong {wait:g} giây")
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
    pass_home_to_runs(deployments)
    try:
        if ensure_process_pool(pool):
            console.print(f"Đã tạo work pool [bold]{pool}[/] (loại process).")
        registered = register(deployments, pool=pool)
    except ValueError:  # the only refusal: a pool of that name but another type
        fail(f"work pool {pool} đã có nhưng không phải loại process; chọn tên khác bằng --pool")
    except Exception as exc:  # the server is down or refuses: say so, no stack trace
        fail(f"máy chủ Prefect tại {api_url} không nhận: {exc}")
    table = Table(
        "Deployment", "Điểm vào", "Số lịch chạy", title=f"Các deployment trên work pool {pool}"
    )
    for r in registered:
        table.add_row(r.name, r.entrypoint, str(r.schedules))
    console.print(table)
    console.print(f"Khởi động worker bằng lệnh: prefect worker start --pool {pool}")
