"""Registering dondoc's deployments with a Prefect server, for workers of a process work pool."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_POOL = "dondoc-pool"


@dataclass(frozen=True)
class Registered:
    """One deployment as the server now holds it."""

    name: str  # "flow-name/deployment-name"
    entrypoint: str
    schedules: int


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists; True when it was created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(
                    name=name,
                    type=ProcessWorker.type,
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            return True
    if pool.type != ProcessWorker.type:
        raise ValueError(f"work pool {name!r} is of type {pool.type!r}, not a process pool")
    return False


def register(deployments: Sequence[Any], *, pool: str) -> list[Registered]:
    """Create or update each deployment on the pool; its schedules replace the old ones.

    The server upserts schedules by slug and keeps the others, so the schedules of an older
    plan (a period that moved or went away) are deleted here.
    """
    from prefect import get_client

    registered = []
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            deployment_id = deployment.apply(work_pool_name=pool)
            wanted = {schedule.slug for schedule in deployment.schedules or []}
            stored = client.read_deployment(deployment_id)
            stale = [s for s in stored.schedules if s.slug is None or s.slug not in wanted]
            for schedule in stale:
                client.delete_deployment_schedule(deployment_id, schedule.id)
            if stale:
                stored = client.read_deployment(deployment_id)
            registered.append(
                Registered(
                    name=f"{deployment.flow_name}/{deployment.name}",
                    entrypoint=stored.entrypoint or "",
                    schedules=len(stored.schedules),
                )
            )
    return registered
