"""Compile now on Prefect: start the `compile-report/adhoc` deployment, read its run's state."""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

DEPLOYMENT = "compile-report/adhoc"
# The run's state as the office reads it; Prefect's own names stay in Prefect's UI.
STATE_VI = {
    "SCHEDULED": "Đang chờ máy chạy nhận việc",
    "PENDING": "Máy chạy đang chuẩn bị",
    "RUNNING": "Đang tổng hợp",
    "COMPLETED": "Đã tổng hợp xong",
    "FAILED": "Tổng hợp không thành công",
    "CRASHED": "Máy chạy gặp sự cố, tổng hợp bị dừng",
    "CANCELLING": "Đang hủy",
    "CANCELLED": "Đã hủy",
    "PAUSED": "Tạm dừng",
}
UNFINISHED = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")


class PrefectUnavailable(Exception):
    """Prefect's API did not answer, or the deployment is not registered."""


def prefect_api_url() -> str | None:
    """The Prefect API the office's deployments live on, when one is configured."""
    return os.environ.get("PREFECT_API_URL") or None


@dataclass(frozen=True)
class RunState:
    run_id: str
    name: str
    period: str
    state: str  # Prefect's state type
    finished: bool

    @property
    def state_vi(self) -> str:
        return STATE_VI.get(self.state, self.state)


def _settings(api_url: str) -> AbstractContextManager[Any]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings({PREFECT_API_URL: api_url})


def _unfinished_run(client: object, deployment_id: UUID, period: str) -> str | None:
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    runs = client.read_flow_runs(  # type: ignore[attr-defined]
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType(s) for s in UNFINISHED])
            )
        ),
        limit=50,
    )
    for run in runs:
        if (run.parameters or {}).get("period") == period:
            return str(run.id)
    return None


def start_run(api_url: str, period: str, formats: Sequence[str]) -> tuple[str, bool]:
    """The flow run compiling `period`: (its id, whether it was started now). A run of the
    same period not yet finished is followed instead of starting a second one."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    try:
        with _settings(api_url), get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
            running = _unfinished_run(client, deployment.id, period)
            if running is not None:
                return running, False
            run = run_deployment(
                name=DEPLOYMENT,
                parameters={"period": period, "formats": list(formats)},
                timeout=0,
                as_subflow=False,
                tags=["portal"],
            )
    except Exception as exc:
        raise PrefectUnavailable(type(exc).__name__) from exc
    return str(run.id), True  # type: ignore[union-attr]


def read_run(api_url: str, run_id: str) -> RunState:
    from prefect.client.orchestration import get_client

    try:
        with _settings(api_url), get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(run_id))
    except Exception as exc:
        raise PrefectUnavailable(type(exc).__name__) from exc
    state = run.state.type.value if run.state is not None else "SCHEDULED"
    return RunState(
        run_id=str(run.id),
        name=run.name,
        period=str((run.parameters or {}).get("period", "")),
        state=state,
        finished=state not in UNFINISHED,
    )
