"""`dondoc serve`: everything on one machine, on schedules, until Ctrl-C."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from cli.common import console, now, read_session, warn_past_plans
from deploy.server import prefect_server
from models.calendar import load_calendar
from schedules.calendar import local_date
from settings import HOME_VARIABLE, get_settings


def serve(
    port: Annotated[
        int, typer.Option(help="Cổng của máy chủ Prefect chạy trên máy này, nếu cần khởi động.")
    ] = 4200,
) -> None:
    """Chạy mọi việc theo lịch ngay trên máy này, đến khi bấm Ctrl-C.

    Khởi động máy chủ Prefect (trừ khi đã đặt PREFECT_API_URL) và phục vụ mọi deployment.

    Ctrl-C dừng cả các lượt đang chạy; automation heartbeat (tạo ở đây như `dondoc deploy`)
    đánh dấu lượt bị ngắt như vậy là Crashed và báo cho quản trị.
    """
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deploy.automations import (
        DEFAULT_HEARTBEAT,
        HEARTBEAT_VARIABLE,
        alert_deployment,
        ensure_automations,
    )
    from deploy.deployments import build_deployments

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # Each flow run is a subprocess: with the home in its environment it reads the same .env
    # and puts files in the same places, whatever directory it starts in.
    os.environ[HOME_VARIABLE] = str(get_settings().home)
    # The served runs are subprocesses too: they send the heartbeats the automation watches.
    os.environ.setdefault(HEARTBEAT_VARIABLE, str(DEFAULT_HEARTBEAT))
    with read_session() as session:
        calendar = load_calendar(session=session)
        today = local_date(now())
        deployments = build_deployments(session=session, calendar=calendar, today=today)
        warn_past_plans(session=session, calendar=calendar, today=today, summary=True)
    alerting = alert_deployment()
    with prefect_server(port=port) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
        console.print(f"Prefect API: {api_url.removesuffix('/api')}  (bấm Ctrl-C để dừng)")
        console.print(
            "Để dùng lệnh prefect (ví dụ prefect deployment run ... --watch) ở cửa sổ dòng lệnh "
            f"khác, chạy trước:\n  export PREFECT_API_URL={api_url}",
            soft_wrap=True,
        )
        alerting.apply()  # registered now, so the alert automation can name it
        ensure_automations(f"{alerting.flow_name}/{alerting.name}")
        try:
            prefect_serve(*deployments, alerting)
        except KeyboardInterrupt:
            console.print("Đang dừng.")
