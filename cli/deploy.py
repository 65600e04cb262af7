"""`dondoc deploy`: register the deployments with a Prefect server for a pool of workers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, fail, now, read_session, warn_past_plans
from deploy.register import DEFAULT_POOL
from models.calendar import load_calendar
from schedules.calendar import local_date


def deploy(
    pool: Annotated[
        str, typer.Option(help="Process work pool the workers poll (created if missing).")
    ] = DEFAULT_POOL,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the Prefect server to answer.", min=0)
    ] = 0,
) -> None:
    """Register every deployment with the Prefect server (schedules of every open plan).

    Workers started with `prefect worker start --pool POOL` then run the flows. Run it again
    after loading an edited or a new plan: the compilation dates follow the plans, and a plan
    whose year is over keeps none.
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.types.entrypoint import EntrypointType

    from deploy.deployments import build_deployments
    from deploy.register import ensure_process_pool, register
    from deploy.server import wait_healthy

    api_url = PREFECT_API_URL.value()  # the environment or the active Prefect profile
    if not api_url:
        fail(
            "PREFECT_API_URL is not set: `dondoc deploy` registers deployments with a running "
            "Prefect server (e.g. PREFECT_API_URL=http://127.0.0.1:4200/api); "
            "to run everything on this machine without workers, use `dondoc serve`"
        )
    if wait:
        try:
            wait_healthy(str(api_url).rstrip("/"), wait)
        except RuntimeError as exc:
            fail(str(exc))
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
    try:
        if ensure_process_pool(pool):
            console.print(f"Created the process work pool [bold]{pool}[/].")
        registered = register(deployments, pool=pool)
    except ValueError as exc:
        fail(str(exc))
    except Exception as exc:  # the server is down or refuses: say so, no stack trace
        fail(f"the Prefect server at {api_url} refused: {exc}")
    table = Table("Deployment", "Entrypoint", "Schedules", title=f"Deployments on pool {pool}")
    for r in registered:
        table.add_row(r.name, r.entrypoint, str(r.schedules))
    console.print(table)
    console.print(f"Start workers with: prefect worker start --pool {pool}")
