"""A channel's outages: when a whole channel cannot deliver, and the admin's one alert for it.

A delivery run that stops because its channel is down (server unreachable, credentials
refused) opens an outage, or keeps the open one; the first message a run delivers on that
channel ends it. The admin gets one e-mail per outage: claimed before it is sent (so two runs
never both send it), released again when the mail server does not take it. An outage of the
e-mail channel itself is therefore reported when mail flows again, once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine, select, update

from models.db import transaction
from models.outbox import ChannelOutage
from notifications.alerts import OUTAGE_SUBJECT, email_admin, outage_text
from notifications.channels import CHANNEL_VI, ChannelName, DeliveryError
from settings import Settings

log = logging.getLogger(__name__)


def channel_down(*, engine: Engine, channel: str, now: datetime, error: str) -> None:
    """The channel could not deliver this run: open an outage, or keep the open one."""
    with transaction(engine) as session:
        outage = session.scalars(
            select(ChannelOutage).where(
                ChannelOutage.channel == channel, ChannelOutage.ended_at.is_(None)
            )
        ).first()
        if outage is None:
            log.error("channel %s is down: %s", channel, error)
            session.add(ChannelOutage(channel=channel, started_at=now, last_error=error))
        else:
            outage.last_error = error


def channel_up(*, engine: Engine, channel: str, now: datetime) -> None:
    """A message went through: the channel's open outage, if any, is over."""
    with transaction(engine) as session:
        session.execute(
            update(ChannelOutage)
            .where(ChannelOutage.channel == channel, ChannelOutage.ended_at.is_(None))
            .values(ended_at=now)
        )


def _mark_alerted(engine: Engine, outage_id: int, when: datetime | None) -> bool:
    """Claim the outage's alert (`when`: only if nobody has) or release it (None)."""
    where = [ChannelOutage.id == outage_id]
    if when is not None:
        where.append(ChannelOutage.alerted_at.is_(None))
    with transaction(engine) as session:
        result = session.execute(
            update(ChannelOutage)
            .where(*where)
            .values(alerted_at=when)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def alert_outages(*, engine: Engine, settings: Settings, channel: str, now: datetime) -> int:
    """E-mail the admin about each of the channel's outages not yet reported; how many went."""
    if not settings.admin_email or not settings.smtp.host:
        return 0  # nobody to tell, or no way to: the outage stays recorded and logged
    with transaction(engine) as session:
        pending = list(
            session.scalars(
                select(ChannelOutage).where(
                    ChannelOutage.channel == channel, ChannelOutage.alerted_at.is_(None)
                )
            )
        )
        session.expunge_all()
    sent = 0
    for outage in pending:
        if not _mark_alerted(engine, outage.id, now):
            continue  # another run is sending it
        try:
            email_admin(
                settings=settings,
                key=f"outage-{outage.channel}-{outage.id}",
                subject=OUTAGE_SUBJECT.format(channel=CHANNEL_VI[ChannelName(outage.channel)]),
                body=outage_text(
                    channel=outage.channel,
                    started_at=outage.started_at,
                    ended_at=outage.ended_at,
                    error=outage.last_error,
                ),
            )
        except DeliveryError as error:  # the mail server is down too: try again next run
            log.warning("outage alert for %s not sent yet: %s", channel, error.reason)
            _mark_alerted(engine, outage.id, None)
            continue
        except Exception:
            # Released, so the alert is not lost to a bug; the caller reports the failure.
            _mark_alerted(engine, outage.id, None)
            raise
        sent += 1
    return sent
