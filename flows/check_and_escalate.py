"""Flow: the daily check. Who has not reported; remind and escalate, each message exactly once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from prefect import flow, get_run_logger

from flows.alerting import alert_admin, note_completed
from flows.form import shown
from notifications.channels import CHANNEL_VI
from schedules.instants import parse_instant
from tasks.escalation import decide_and_record_step, deliver_step
from tasks.startup import checked_settings
from wording.vietnamese import log_stamp

log = logging.getLogger(__name__)


# An ISO date, or date and time with an optional offset: what parse_as_of reads.
INSTANT_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"

AsOfParameter = Annotated[
    str | None,
    shown(
        "Kiểm tra như vào lúc",
        "Chạy lại việc kiểm tra như ở thời điểm này, ví dụ 2024-03-20T08:00 (không "
        "ghi múi giờ là giờ Việt Nam). Để trống: lúc chạy.",
        pattern=INSTANT_PATTERN,
    ),
]


def parse_as_of(value: str) -> datetime:
    """An ISO instant; without an offset it is Vietnamese local time."""
    return parse_instant(value, date_means_midnight=False)


class ChannelsFailed(Exception):
    """One or more channel steps failed (the others delivered): the flow run fails with it."""


def summary_message(deliveries: list[dict[str, Any]], failed: dict[str, str]) -> str:
    """The run's state message: which channel could not deliver, and why (Vietnamese: the
    admin reads it in the Prefect UI and in the failure alert)."""
    name = {c.value: v for c, v in CHANNEL_VI.items()}
    parts = [f"kênh {name[c]} lỗi: {why}" for c, why in failed.items()]
    parts += [
        f"kênh {name[d['channel']]} tạm ngừng: {d['stopped']}" for d in deliveries if d["stopped"]
    ]
    return "; ".join(parts) if parts else "Mọi kênh đã gửi xong."


@flow(
    name="check-and-escalate",
    on_failure=[alert_admin],
    on_crashed=[alert_admin],
    on_completion=[note_completed],
)
def check_and_escalate(as_of: AsOfParameter = None) -> dict[str, Any]:
    """Decide what is due, write the outbox, deliver each channel, mark what was sent.

    `as_of` (ISO instant; now by default) replays a moment. Days off and hours outside
    07:30–17:00 send nothing. Step runs: one to decide, one per enabled channel, whatever
    the number of units. Each channel delivers whatever the others do: a channel whose
    server is down completes its step (its messages wait; the admin gets one alert per
    outage) and the flow is Completed, its result's `message` naming the channel; a channel
    whose step fails (an unexpected error) does not stop the others, and the flow ends Failed
    (ChannelsFailed) with a message naming it, which the failure hook e-mails to the admin.
    """
    checked_settings()
    moment = parse_as_of(as_of) if as_of else datetime.now(UTC)
    instant = moment.isoformat()
    get_run_logger().info("checking as of %s (Vietnamese time)", log_stamp(moment))
    decided = decide_and_record_step(instant)
    if not decided["sending"]:
        return {"as_of": instant, "sending": False, "deliveries": []}
    # One channel after the other: a delivery holds a database lock while it sends, and on
    # SQLite that lock is the whole database's.
    deliveries: list[dict[str, Any]] = []
    failed: dict[str, str] = {}
    for channel in decided["channels"]:
        state = deliver_step(channel, instant, return_state=True)
        if state.is_completed():
            deliveries.append(state.result())
        else:
            failed[channel] = str(state.message or state.type.value)
    message = summary_message(deliveries, failed)
    get_run_logger().info("check done: %s; %s", message, deliveries)
    if failed:
        raise ChannelsFailed(message)
    return {
        "as_of": instant,
        "sending": True,
        "messages": decided["messages"],
        "unreachable": decided["unreachable"],
        "deliveries": deliveries,
        "message": message,
    }
