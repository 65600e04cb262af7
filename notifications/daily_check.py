"""The daily check: is the sending window open, which channels are enabled, decide and record,
deliver one channel. `dondoc remind` (`run_once`) and the Prefect flow call the same halves.

1. `decide_and_record`: outside the sending window (working days, 07:30-17:00) nothing is
   decided; inside it, every rung due is recorded in the outbox in one transaction
   (`notifications.deciding.record_decision`), for the enabled channels.
2. `deliver_channel`: one channel's due messages, sent and marked one at a time
   (`notifications.delivering.Deliverer`), then the admin's alert for a channel outage not
   yet reported (`notifications.outages`). Each channel delivers whatever the others do: in
   `run_once` an unexpected error in one channel is logged and reported, and the next goes on.

`DONDOC_CRASH_POINT` (tests only, `notifications.crash_points`) kills the process at
`after_record` and `after_send`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from models.calendar import load_calendar
from models.db import session_factory
from notifications.channels import ChannelName
from notifications.deciding import Recorded, record_decision
from notifications.delivering import DeliveryReport, deliver, in_sending_window
from notifications.outages import alert_outages
from notifications.wiring import build_channel, enabled_channels
from settings import Settings

log = logging.getLogger(__name__)


def sending_window_open(*, engine: Engine, settings: Settings, now: datetime) -> bool:
    """Whether messages may go out now: a working day, in working hours."""
    with session_factory(engine)() as session:
        calendar = load_calendar(session=session)
    return in_sending_window(now, calendar, settings.escalation)


@dataclass(frozen=True)
class Decided:
    """What the first half did: the channels to deliver and what it recorded (None, and no
    channel, outside the sending window)."""

    as_of: datetime
    recorded: Recorded | None
    channels: list[ChannelName] = field(default_factory=list)

    @property
    def sending(self) -> bool:
        return self.recorded is not None

    def as_dict(self) -> dict[str, object]:
        """Plain values for Prefect."""
        recorded = self.recorded
        return {
            "sending": self.sending,
            "channels": [c.value for c in self.channels],
            "messages": len(recorded.message_ids) if recorded else 0,
            "unreachable": len(recorded.decision.unreachable) if recorded else 0,
        }


def decide_and_record(*, engine: Engine, settings: Settings, now: datetime) -> Decided:
    """In the sending window, record every rung due in the outbox for the enabled channels."""
    if not sending_window_open(engine=engine, settings=settings, now=now):
        return Decided(as_of=now, recorded=None)
    names = enabled_channels(settings)
    recorded = record_decision(
        engine=engine,
        now=now,
        channels=[n.value for n in names],
        webhooks=list(settings.webhooks),
        chase_working_days=settings.escalation.chase_working_days,
    )
    return Decided(as_of=now, recorded=recorded, channels=names)


def deliver_channel(
    *, engine: Engine, settings: Settings, channel: ChannelName, now: datetime
) -> DeliveryReport:
    """Send one channel's due messages, if messages may go out now; then alert the admin of
    the channel's outage, once."""
    report = deliver(
        engine=engine,
        channel=build_channel(channel, settings=settings, engine=engine, now=now),
        now=now,
        settings=settings,
    )
    try:
        alert_outages(engine=engine, settings=settings, channel=channel.value, now=now)
    except Exception:
        # The channel's own report stands: what it sent is sent; the alert waits a run.
        log.exception("outage alert for %s failed; the next run tries again", channel.value)
    return report


def unexpected_failure(channel: ChannelName, error: Exception) -> DeliveryReport:
    """The report of a channel whose delivery raised: it sent what it had marked, no more."""
    return DeliveryReport(
        channel=channel.value,
        stopped=f"Lỗi không lường trước khi gửi: {type(error).__name__}",
        crashed=True,
    )


@dataclass(frozen=True)
class RunReport:
    """What one check did: whether it could send, what it decided, what each channel did."""

    as_of: datetime
    sending: bool
    recorded: Recorded | None
    deliveries: list[DeliveryReport]


def run_once(*, engine: Engine, settings: Settings, now: datetime) -> RunReport:
    """The daily check in one process: decide and record, then deliver each enabled channel."""
    decided = decide_and_record(engine=engine, settings=settings, now=now)
    deliveries = []
    for name in decided.channels:
        try:
            deliveries.append(
                deliver_channel(engine=engine, settings=settings, channel=name, now=now)
            )
        except Exception as error:  # a bug in one channel must not hold the others up
            log.exception("delivery of channel %s failed", name.value)
            deliveries.append(unexpected_failure(name, error))
    return RunReport(
        as_of=now, sending=decided.sending, recorded=decided.recorded, deliveries=deliveries
    )
