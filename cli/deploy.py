"""`dondoc deploy`: register the deployments with a Prefect server for a pool of workers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, err_console, fail, read_session
from deploy.register import DEFAULT_POOL
from models.calendar import load_calendar


def deploy(
    pool: Annotated[
        str, typer.Option(help="Process work pool the workers poll (created if missing).")
    ] = DEFAULT_POOL,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the Prefect server to answer.", min=0)
    ] = 0,
) -> None:
    """Register every deployment (schedules from the loaded plan) with the Prefect server.

    Workers started with `prefect worker start --pool POOL` then run the flows. Run it again
    after loading an edited plan: the compilation dates follow the plan.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings
    from prefect.types.entrypoint import EntrypointType

    from deploy.automations import alert_deployment, ensure_automations
    from deploy.deployments import build_deployments
    from deploy.register import ensure_process_pool, register
    from deploy.server import unauthenticated_api, wait_healthy

    api_url = PREFECT_API_URL.value()  # the environment or the active Prefect profile
    if not api_url:
        fail(
            "PREFECT_API_URL is not set: `dondoc deploy` registers deployments with a running "
            "Prefect server (e.g. PREFECT_API_URL=http://127.0.0.1:4200/api); "
            "to run everything on this machine without workers, use `dondoc serve`"
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
        except RuntimeError as exc:
            fail(str(exc))
    with read_session() as session:
        deployments = build_deployments(
            session=session,
            calendar=load_calendar(session=session),
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    alerting = alert_deployment(EntrypointType.MODULE_PATH)
    try:
        if ensure_process_pool(pool):
            console.print(f"Created the process work pool [bold]{pool}[/].")
        registered = register([*deployments, alerting], pool=pool)
        automations = ensure_automations(f"{alerting.flow_name}/{alerting.name}")
    except ValueError as exc:
        fail(str(exc))
    except Exception as exc:  # the server is down or refuses: say so, no stack trace
        fail(f"the Prefect server at {api_url} refused: {exc}")
    table = Table("Deployment", "Entrypoint", "Schedules", title=f"Deployments on pool {pool}")
    for r in registered:
        table.add_row(r.name, r.entrypoint, str(r.schedules))
    console.print(table)
    for automation in automations:
        console.print(
            f"Automation {'created' if automation.created else 'up to date'}: {automation.name}"
        )
    console.print(f"Start workers with: prefect worker start --pool {pool}")
