"""A scheduled flow's outages: its first failed or crashed run mails the admin, the runs that
fail after it are only counted, a reminder goes every `alert_reminder_hours` while it lasts,
and the next run that completes sends one mail saying how long it lasted.

Each run is counted once, whichever path sees it first (its own hook, or the alert flow the
server starts for a crashed run): it is claimed in `run_alerts`. An outage is a `flow_outages`
row; its `open_flow` is unique, so two runs failing at once open one outage, and each mail is
claimed by a single UPDATE on the row before it is sent (of two racing, one sends), released
when the mail server does not take it (the next run of the flow, or the other path, tries
again). Without a usable database the outage is kept in the data folder
(`notifications.outage_file`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from models.outbox import FlowOutage, RunAlert
from notifications import outage_file
from notifications.alerts import (
    RECOVERED,
    REMINDER,
    START,
    FailedRun,
    FlowDown,
    email_outage,
    mail_key,
)
from notifications.redact import redact
from settings import Settings

log = logging.getLogger(__name__)

# A claim this old with the run not yet counted belongs to a process that died in between (a
# hook in a worker being killed): another path may take it over. Far longer than one SMTP
# attempt (notifications.email.TIMEOUT_SECONDS).
STALE_CLAIM = timedelta(minutes=15)
ERROR_CHARS = 2000  # the start of a long traceback's message is what tells


def alert_failed_run(
    sessions: sessionmaker[Session],
    *,
    settings: Settings,
    flow_name: str,
    run_name: str,
    run_id: str,
    error: str,
    now: datetime,
    state: str = "Failed",
) -> bool:
    """Count a failed or crashed run in its flow's outage (opening one if the flow was fine)
    and send the admin what is due: the outage's first mail, or a reminder. True when this
    call sent a mail. Without a database the outage is kept in the data folder."""
    if not settings.admin_email or not settings.smtp.host:
        return False
    run = FailedRun(flow_name, run_name, run_id, state, redact(error)[:ERROR_CHARS])
    claimed = claim_run(sessions, run_id=run_id, flow_name=flow_name, now=now)
    if claimed is None:
        return outage_file.failed_without_database(settings=settings, run=run, now=now)
    if claimed:
        try:
            _record(sessions, settings=settings, run=run, now=now)
        except BaseException as exc:
            _release(sessions, run_id)  # not counted: the other path may count it
            if not isinstance(exc, SQLAlchemyError):
                raise
            log.warning("outage of %s not recorded (%s)", flow_name, type(exc).__name__)
            return outage_file.failed_without_database(settings=settings, run=run, now=now)
    return send_due(sessions, settings=settings, flow_name=flow_name, now=now) > 0


def _record(
    sessions: sessionmaker[Session], *, settings: Settings, run: FailedRun, now: datetime
) -> None:
    """Count the claimed run, with what the data folder kept while the database was down."""
    with outage_file.carried(settings.data_dir, run.flow_name) as marked:
        if marked is None:
            _count(sessions, run, runs=1, started_at=now, alerted_at=None)
        else:
            again = marked.run_id == run.run_id  # its hook put it there, the alert flow here
            _count(
                sessions,
                run,
                runs=marked.failed_runs + (0 if again else 1),
                started_at=datetime.fromisoformat(marked.started_at),
                alerted_at=marked.alerted(),
            )
    with sessions.begin() as session:
        session.execute(
            update(RunAlert).where(RunAlert.flow_run_id == run.run_id).values(sent_at=now)
        )


def _release(sessions: sessionmaker[Session], run_id: str) -> None:
    try:
        with sessions.begin() as session:
            session.execute(delete(RunAlert).where(RunAlert.flow_run_id == run_id))
    except SQLAlchemyError:
        pass  # the database is gone too: the claim goes stale and is taken over


def alert_recovered(
    sessions: sessionmaker[Session], *, settings: Settings, flow_name: str, now: datetime
) -> bool:
    """A run of the flow completed: its outage, if any, is over; True when this call sent the
    mail saying so."""
    if not settings.admin_email or not settings.smtp.host:
        return False
    with outage_file.carried(settings.data_dir, flow_name) as marked:
        if marked is not None:
            _count(
                sessions,
                marked.last_run(flow_name),
                runs=marked.failed_runs,
                started_at=datetime.fromisoformat(marked.started_at),
                alerted_at=marked.alerted(),
            )
        with sessions.begin() as session:
            session.execute(
                update(FlowOutage)
                .where(FlowOutage.open_flow == flow_name)
                .values(open_flow=None, ended_at=now)
            )
    return send_due(sessions, settings=settings, flow_name=flow_name, now=now) > 0


def _count(
    sessions: sessionmaker[Session],
    run: FailedRun,
    *,
    runs: int,
    started_at: datetime,
    alerted_at: datetime | None,
) -> None:
    """Add `runs` failed runs, the last being `run`, to the flow's open outage, or open one
    (`started_at`, `alerted_at`: what the data folder's record says, when it is carried)."""
    last = {
        "last_run_name": run.run_name[:255],
        "last_run_id": run.run_id,
        "last_state": run.state,
        "last_error": run.error,
    }
    grown: dict[str, Any] = {"failed_runs": FlowOutage.failed_runs + runs, **last}
    if alerted_at is not None:
        grown["alerted_at"] = func.coalesce(FlowOutage.alerted_at, alerted_at)
    for _ in range(2):  # the open outage's INSERT may lose to another run's: then count in it
        with sessions.begin() as session:
            counted = session.execute(
                update(FlowOutage)
                .where(FlowOutage.open_flow == run.flow_name)
                .values(**grown)
                .execution_options(synchronize_session=False)
            )
        if getattr(counted, "rowcount", 0):
            return
        try:
            with sessions.begin() as session:
                session.add(
                    FlowOutage(
                        flow_name=run.flow_name,
                        open_flow=run.flow_name,
                        started_at=started_at,
                        failed_runs=runs,
                        alerted_at=alerted_at,
                        **last,
                    )
                )
            return
        except IntegrityError:
            continue
    raise RuntimeError(f"the outage of {run.flow_name} could not be recorded")


def send_due(
    sessions: sessionmaker[Session], *, settings: Settings, flow_name: str, now: datetime
) -> int:
    """Send the flow's outage mails that are due: an open outage's first mail or reminder, an
    ended one's recovery mail; how many went. A mail the server refused is released and
    its error raised."""
    every = timedelta(hours=settings.alert_reminder_hours)
    with sessions() as session:
        due = session.scalars(
            select(FlowOutage)
            .where(
                FlowOutage.flow_name == flow_name,
                or_(
                    and_(
                        FlowOutage.ended_at.is_(None),
                        or_(FlowOutage.alerted_at.is_(None), FlowOutage.alerted_at <= now - every),
                    ),
                    and_(FlowOutage.ended_at.is_not(None), FlowOutage.recovery_sent_at.is_(None)),
                ),
            )
            .order_by(FlowOutage.id)
        ).all()
        session.expunge_all()
    sent = 0
    for outage in due:
        if outage.ended_at is None:
            column, kind = FlowOutage.alerted_at, START if outage.alerted_at is None else REMINDER
        else:
            column, kind = FlowOutage.recovery_sent_at, RECOVERED
        before = getattr(outage, column.key)
        if not _claim(sessions, outage.id, column, before, now):
            continue  # another run is sending it
        try:
            email_outage(
                settings=settings,
                kind=kind,
                down=_down(outage),
                now=now,
                key=mail_key(kind, outage.last_run_id, f"{outage.id}", now),
            )
        except BaseException:
            _claim(sessions, outage.id, column, now, before)
            raise
        sent += 1
    return sent


def _claim(
    sessions: sessionmaker[Session],
    outage_id: int,
    column: InstrumentedAttribute[datetime | None],
    was: datetime | None,
    to: datetime | None,
) -> bool:
    """Set the outage's mail column from `was` to `to` in one UPDATE: False when another
    process changed it first."""
    where = [FlowOutage.id == outage_id, column.is_(None) if was is None else column == was]
    with sessions.begin() as session:
        changed = session.execute(
            update(FlowOutage)
            .where(*where)
            .values({column.key: to})
            .execution_options(synchronize_session=False)
        )
    return bool(getattr(changed, "rowcount", 0) == 1)


def _down(outage: FlowOutage) -> FlowDown:
    return FlowDown(
        flow_name=outage.flow_name,
        started_at=outage.started_at,
        failed_runs=outage.failed_runs,
        run_name=outage.last_run_name,
        run_id=outage.last_run_id,
        state=outage.last_state,
        error=outage.last_error,
        ended_at=outage.ended_at,
    )


def claim_run(
    sessions: sessionmaker[Session], *, run_id: str, flow_name: str, now: datetime
) -> bool | None:
    """True: this caller counts the run; False: someone already did (or is doing it); None:
    the database cannot say (unreachable, or without dondoc's tables). A claim left uncounted
    for STALE_CLAIM is taken over: its claimant died in between."""
    try:
        with sessions.begin() as session:
            session.add(RunAlert(flow_run_id=run_id, flow_name=flow_name, claimed_at=now))
    except IntegrityError:
        return _take_over_stale(sessions, run_id=run_id, now=now)
    except SQLAlchemyError as exc:
        log.warning(
            "run alerts cannot be recorded (%s): recording the outage in the data folder",
            type(exc).__name__,
        )
        return None
    return True


def _take_over_stale(sessions: sessionmaker[Session], *, run_id: str, now: datetime) -> bool:
    """Claim the run again when its claim is stale (one UPDATE: of two racing, one wins)."""
    try:
        with sessions.begin() as session:
            taken = session.execute(
                update(RunAlert)
                .where(
                    RunAlert.flow_run_id == run_id,
                    RunAlert.sent_at.is_(None),
                    RunAlert.claimed_at < now - STALE_CLAIM,
                )
                .values(claimed_at=now)
            )
    except SQLAlchemyError:
        return False
    return bool(getattr(taken, "rowcount", 0) == 1)
