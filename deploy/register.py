"""Registering dondoc's deployments with a Prefect server, for workers of a process work pool."""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

DEFAULT_POOL = "dondoc-pool"


@dataclass(frozen=True)
class Registered:
    """One deployment as the server now holds it."""

    name: str  # "flow-name/deployment-name"
    entrypoint: str
    schedules: int


# What a run's job variables may still set: cosmetic fields of the process. `env`, `command`
# and `working_dir` are fixed, so nobody starting a run from the UI can point the worker's
# SMTP at their own host (DONDOC_SMTP__HOST) or run a command of their choosing.
OVERRIDABLE = ("name", "labels", "stream_output")


def locked_job_template() -> dict[str, Any]:
    """The process worker's default base job template, with only OVERRIDABLE variables: the
    flow process gets the worker's own environment and Prefect's command, in a fresh folder."""
    from prefect.workers.process import ProcessWorker

    template = deepcopy(ProcessWorker.get_default_base_job_template())
    variables = template["variables"]
    variables["properties"] = {
        name: spec for name, spec in variables["properties"].items() if name in OVERRIDABLE
    }
    variables["required"] = [n for n in variables.get("required", []) if n in OVERRIDABLE]
    # Absent, not empty: the worker deep-merges a run's `env` into a dict `env` it finds here.
    template["job_configuration"] = {
        key: value for key, value in template["job_configuration"].items() if key in OVERRIDABLE
    }
    return template


def ensure_process_pool(name: str) -> bool:
    """Create the process work pool `name` unless it exists, with the locked job template (an
    existing pool gets it too); True when the pool was created."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    template = locked_job_template()
    with get_client(sync_client=True) as client:
        try:
            pool = client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(
                WorkPoolCreate(name=name, type=ProcessWorker.type, base_job_template=template)
            )
            return True
        if pool.type != ProcessWorker.type:
            raise ValueError(
                f"work pool {name} đã có nhưng là loại {pool.type}, không phải loại process; "
                "chọn tên khác bằng --pool"
            )
        if pool.base_job_template != template:
            client.update_work_pool(name, WorkPoolUpdate(base_job_template=template))
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
