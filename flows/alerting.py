"""The admin's alerts about a scheduled flow that fails: the hooks every scheduled flow carries
(a failed or crashed run counts in the flow's outage, a completed one ends it), and the flow
the Prefect server starts for a run whose process died (no hook could run in it)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger

from models.db import make_engine, session_factory
from notifications.run_outages import alert_failed_run, alert_recovered
from settings import get_settings

log = logging.getLogger(__name__)

ALERT_FLOW = "alert-admin"
# The flows that run on schedules; their failed or crashed runs are alerted.
ALERTED_FLOWS = ("check-and-escalate", "collect-submissions", "compile-report")


def notify(*, flow_name: str, run_name: str, run_id: str, state: str, error: str) -> bool:
    """Count this run in its flow's outage; True when this call mailed the admin (the
    outage's first failed run, or a reminder)."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        sent = alert_failed_run(
            session_factory(engine),
            settings=settings,
            flow_name=flow_name,
            run_name=run_name,
            run_id=run_id,
            error=error,
            now=datetime.now(UTC),
            state=state,
        )
    finally:
        engine.dispose()
    if not sent and not settings.admin_email:
        log.warning("%s run %s: %s and DONDOC_ADMIN_EMAIL is not set", flow_name, run_id, state)
    return sent


def alert_admin(flow: Any, flow_run: Any, state: Any) -> None:
    """on_failure / on_crashed hook: count the run in its flow's outage, mailing the admin when
    due; a failing alert is logged, never raised (it must not mask the flow's own failure)."""
    try:
        notify(
            flow_name=flow.name,
            run_name=flow_run.name,
            run_id=str(flow_run.id),
            state="Crashed" if state.is_crashed() else "Failed",
            error=str(state.message or ""),
        )
    except Exception as exc:
        log.error("could not alert the admin: %s", type(exc).__name__)


def note_completed(flow: Any, flow_run: Any, state: Any) -> None:
    """on_completion hook: the flow's outage, if any, is over (one mail says so). Logged,
    never raised: the run did its work."""
    settings = get_settings()
    if not settings.admin_email or not settings.smtp.host:
        return  # no outage is recorded either
    try:
        engine = make_engine(settings.database_url)
        try:
            alert_recovered(
                session_factory(engine),
                settings=settings,
                flow_name=flow.name,
                now=datetime.now(UTC),
            )
        finally:
            engine.dispose()
    except Exception as exc:
        log.error("could not end the outage of %s: %s", flow.name, type(exc).__name__)


@flow(name=ALERT_FLOW)
def alert_crashed_run(flow_run_id: str) -> bool:
    """Count a run that ended Crashed in its flow's outage, mailing the admin when due (started
    by the server's automation, `deploy.automations`); nothing when the run's hook already
    counted it or it did not crash.

    Args:
        flow_run_id: the crashed run's id.
    """
    from prefect import get_client

    logger = get_run_logger()
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id.removeprefix("prefect.flow-run.")))
        flow_name = client.read_flow(run.flow_id).name
    if run.state is None or not run.state.is_crashed():
        logger.info("run %s is %s: nothing to alert", run.id, run.state and run.state.type)
        return False
    if flow_name not in ALERTED_FLOWS:
        logger.info("run %s of %s: not a scheduled flow, not alerted", run.id, flow_name)
        return False
    sent = notify(
        flow_name=flow_name,
        run_name=run.name,
        run_id=str(run.id),
        state="Crashed",
        error=str(run.state.message or ""),
    )
    logger.info("run %s crashed: %s", run.id, "admin alerted" if sent else "counted or alerted")
    return sent
