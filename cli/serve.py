"""`dondoc serve`: everything on one machine, on schedules, until Ctrl-C."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.common import console, read_session
from deploy.server import prefect_server
from models.calendar import load_calendar


def serve(
    port: Annotated[
        int, typer.Option(help="Port of the local Prefect server, if one is started.")
    ] = 4200,
) -> None:
    """Start a local Prefect server (unless PREFECT_API_URL is set) and serve every deployment.

    Ctrl-C stops the served runs too. The server's heartbeat automation (created here, as
    by `dondoc deploy`) marks a run interrupted that way Crashed and has the admin alerted.
    """
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deploy.automations import alert_deployment, ensure_automations
    from deploy.deployments import build_deployments

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with read_session() as session:
        deployments = build_deployments(session=session, calendar=load_calendar(session=session))
    alerting = alert_deployment()
    with prefect_server(port=port) as api_url, temporary_settings({PREFECT_API_URL: api_url}):
        console.print(f"Prefect API: {api_url.removesuffix('/api')}  (Ctrl-C to stop)")
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
            console.print("Stopping.")
