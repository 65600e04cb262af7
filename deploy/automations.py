"""The Prefect automations dondoc relies on: a run whose heartbeats stop is marked Crashed, and
a crashed run of a scheduled flow starts the admin's alert. Created or updated by
`dondoc deploy` and `dondoc serve`, once each whatever the number of runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

ZOMBIE_AUTOMATION = "dondoc: mark runs without heartbeats Crashed"
ALERT_AUTOMATION = "dondoc: alert the admin about a crashed run"
ALERT_DEPLOYMENT = "crashed-run"  # alert-admin/crashed-run
# Heartbeats a run may miss before it is declared dead: a busy process (a large Word file being
# rendered) may send one late, a dead one sends none.
MISSED_HEARTBEATS = 3
TERMINAL_EVENTS = frozenset(
    f"prefect.flow-run.{state}" for state in ("Completed", "Failed", "Cancelled", "Crashed")
)


@dataclass(frozen=True)
class Ensured:
    """One automation as the server now holds it."""

    name: str
    created: bool


# What the shipped environment files set (PREFECT_FLOWS_HEARTBEAT_FREQUENCY): a dead run is
# found within 3 minutes, and a long compilation costs one tiny event a minute.
DEFAULT_HEARTBEAT = 60
HEARTBEAT_VARIABLE = "PREFECT_FLOWS_HEARTBEAT_FREQUENCY"


def heartbeat_seconds() -> int:
    """How often a flow run sends a heartbeat: the setting, else the shipped default. A run
    started without the setting sends none, and the automation never fires for it (it waits
    for a first heartbeat), so assuming the default is safe."""
    from prefect.settings import get_current_settings

    return int(get_current_settings().flows.heartbeat_frequency or DEFAULT_HEARTBEAT)


def zombie_automation(heartbeat: int) -> Any:
    """After a run's heartbeat, expect another heartbeat or a final state within the grace;
    none came: the process is gone (killed, machine down), mark the run Crashed."""
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=ZOMBIE_AUTOMATION,
        description=(
            f"A flow run sends a heartbeat every {heartbeat} s; after {MISSED_HEARTBEATS} "
            "missed ones it is marked Crashed (its worker or machine stopped)."
        ),
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", *TERMINAL_EVENTS},
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=heartbeat * MISSED_HEARTBEATS),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=(
                    f"No heartbeat for {heartbeat * MISSED_HEARTBEATS} s: the run's process "
                    "stopped (worker stopped or killed, machine restarted)."
                ),
            )
        ],
    )


def alert_automation(alert_deployment_id: UUID, flows: tuple[str, ...]) -> Any:
    """Each Crashed run of a scheduled flow starts the alert flow with its id (the alert flow
    counts the run in its flow's outage, unless its own hook already did)."""
    from prefect.events.actions import RunDeployment
    from prefect.events.schemas.automations import AutomationCore, EventTrigger, Posture

    return AutomationCore(
        name=ALERT_AUTOMATION,
        description=(
            "Count each crashed run of a scheduled flow in its outage: DONDOC_ADMIN_EMAIL is "
            "e-mailed once per outage."
        ),
        trigger=EventTrigger(
            expect={"prefect.flow-run.Crashed"},
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": list(flows)},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[
            RunDeployment(
                source="selected",
                deployment_id=alert_deployment_id,
                parameters={"flow_run_id": "{{ event.resource.id }}"},
            )
        ],
    )


def ensure_automations(alert_deployment: str) -> list[Ensured]:
    """Create both automations, or bring existing ones up to date (same name: updated, extra
    copies deleted), so running `dondoc deploy` again never duplicates them."""
    from prefect import get_client

    from flows.alerting import ALERTED_FLOWS

    heartbeat = heartbeat_seconds()
    with get_client(sync_client=True) as client:
        deployment_id = client.read_deployment_by_name(alert_deployment).id
        wanted = [zombie_automation(heartbeat), alert_automation(deployment_id, ALERTED_FLOWS)]
        ensured = []
        for automation in wanted:
            existing = client.read_automations_by_name(automation.name)
            for extra in existing[1:]:
                client.delete_automation(extra.id)
            if existing:
                client.update_automation(existing[0].id, automation)
            else:
                client.create_automation(automation)
            ensured.append(Ensured(name=automation.name, created=not existing))
    return ensured


def alert_deployment(entrypoint_type: Any = None) -> Any:
    """The deployment the alert automation runs (no schedule: started by the server)."""
    from prefect.types.entrypoint import EntrypointType

    from flows.alerting import alert_crashed_run

    return alert_crashed_run.to_deployment(
        name=ALERT_DEPLOYMENT,
        description="Alert the admin about a crashed run (started by an automation).",
        entrypoint_type=entrypoint_type or EntrypointType.FILE_PATH,
    )
