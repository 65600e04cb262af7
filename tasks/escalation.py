"""Prefect steps of the daily check: decide and record (one run), deliver (one run per channel).

Parameters and results are plain values: an ISO instant, a channel name, counts. No secret
ever travels through Prefect; each step reads the settings itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.calendar import load_calendar
from models.db import make_engine, session_factory
from notifications.channels import ChannelName
from notifications.escalation import decide_and_record, deliver, sending_window_open
from notifications.wiring import build_channel, enabled_channels
from schedules.instants import parse_instant
from settings import get_settings


@task(name="decide-and-record", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def decide_and_record_step(as_of: str) -> dict[str, Any]:
    """Skip days off and hours outside work; else record what is due in the outbox."""
    now = parse_instant(as_of)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    logger = get_run_logger()
    try:
        with session_factory(engine)() as session:
            calendar = load_calendar(session=session)
        if not sending_window_open(now, calendar, settings.escalation):
            logger.info("not a sending time (%s): nothing decided, nothing sent", as_of)
            return {"sending": False, "channels": [], "messages": 0, "unreachable": 0}
        names = enabled_channels(settings)
        recorded = decide_and_record(
            engine=engine,
            now=now,
            channels=[n.value for n in names],
            webhooks=list(settings.webhooks),
        )
    finally:
        engine.dispose()
    # One line per kind of gap, not per item: a province has thousands of them a day, and
    # each run-logger line costs ~1.4 ms (docs/benchmarks.md).
    gaps = Counter((gap.audience, gap.why) for gap in recorded.decision.unreachable)
    for (audience, why), count in sorted(gaps.items()):
        example = next(
            g for g in recorded.decision.unreachable if (g.audience, g.why) == (audience, why)
        )
        logger.warning(
            "nobody to reach: audience %s (%s) for %d step(s), e.g. %s step %s",
            audience,
            why,
            count,
            example.item_key,
            example.step_code,
        )
    logger.info(
        "recorded %d intents in %d messages",
        len(recorded.decision.drafts),
        len(recorded.message_ids),
    )
    return {
        "sending": True,
        "channels": [n.value for n in names],
        "messages": len(recorded.message_ids),
        "unreachable": len(recorded.decision.unreachable),
    }


@task(name="deliver", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def deliver_step(channel: str, as_of: str) -> dict[str, Any]:
    """Send one channel's due messages (all of them: one step run per channel, not per unit)."""
    now = parse_instant(as_of)
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        report = deliver(
            engine=engine,
            channel=build_channel(ChannelName(channel), settings=settings, engine=engine, now=now),
            now=now,
            settings=settings,
        )
    finally:
        engine.dispose()
    result = report.as_dict()
    get_run_logger().info("%s: %s", channel, result)
    return result
