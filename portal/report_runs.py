"""Compile now on Prefect: start the `compile-report/adhoc` deployment, read its run's state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from reports.compile import ALL_FORMATS
from settings import Settings
from settings.prefect import prefect_client

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


class OtherFormatsRunning(Exception):
    """The period is being compiled already, into other formats than those asked for."""

    def __init__(self, formats: set[str]) -> None:
        super().__init__(sorted(formats))
        self.formats = formats


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


def _unfinished_run(
    client: object, deployment_id: UUID, period: str
) -> tuple[str, set[str]] | None:
    """The period's run not yet finished, if any: its id and the formats it writes."""
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
        parameters = run.parameters or {}
        if parameters.get("period") == period:
            formats = parameters.get("formats") or ALL_FORMATS  # the flow's default: every one
            return str(run.id), {str(f) for f in formats}
    return None


def unfinished_run(settings: Settings, period: str, formats: Sequence[str]) -> str | None:
    """The id of the period's run not yet finished when it writes every format asked for;
    None when there is none; OtherFormatsRunning when it writes others (read only)."""
    from prefect.client.orchestration import get_client

    try:
        with prefect_client(settings), get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(DEPLOYMENT)
            running = _unfinished_run(client, deployment.id, period)
    except Exception as exc:
        raise PrefectUnavailable(type(exc).__name__) from exc
    if running is None:
        return None
    if not set(formats) <= running[1]:
        raise OtherFormatsRunning(running[1])
    return running[0]


def start_run(settings: Settings, period: str, formats: Sequence[str]) -> str:
    """Start a run of the deployment compiling `period` in `formats`; its id."""
    from prefect.deployments import run_deployment

    try:
        with prefect_client(settings):
            run = run_deployment(
                name=DEPLOYMENT,
                parameters={"period": period, "formats": list(formats)},
                timeout=0,
                as_subflow=False,
                tags=["portal"],
            )
    except Exception as exc:
        raise PrefectUnavailable(type(exc).__name__) from exc
    return str(run.id)  # type: ignore[union-attr]


def read_run(settings: Settings, run_id: str) -> RunState:
    from prefect.client.orchestration import get_client

    try:
        with prefect_client(settings), get_client(sync_client=True) as client:
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
