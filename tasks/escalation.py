"""Prefect steps of the daily check: decide and record (one run), deliver (one run per channel).

Each step is one call of `notifications.daily_check`. Parameters and results are plain
values: an ISO instant, a channel name, counts. No secret ever travels through Prefect; each
step reads the settings itself.
"""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.db import open_database
from notifications.channels import ChannelName
from notifications.daily_check import decide_and_record, deliver_channel
from schedules.instants import parse_instant
from settings import get_settings
from wording.vietnamese import log_stamp


@task(name="decide-and-record", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def decide_and_record_step(as_of: str) -> dict[str, Any]:
    """Skip days off and hours outside work; else record what is due in the outbox."""
    settings = get_settings()
    engine = open_database(settings.database_url)
    try:
        decided = decide_and_record(engine=engine, settings=settings, now=parse_instant(as_of))
    finally:
        engine.dispose()
    logger = get_run_logger()
    if decided.recorded is None:
        logger.info(
            "not a sending time (%s, Vietnamese time): nothing decided, nothing sent",
            log_stamp(parse_instant(as_of)),
        )
        return decided.as_dict()
    # One line per kind of gap, not per item: a province has thousands of them a day, and
    # each run-logger line costs ~1.4 ms (docs/benchmarks.md).
    for gaps in decided.recorded.decision.gap_kinds():
        logger.warning(
            "nobody to reach: audience %s (%s) for %d step(s), e.g. %s step %s",
            gaps.audience,
            gaps.why,
            gaps.count,
            gaps.example.item_key,
            gaps.example.step_code,
        )
    logger.info(
        "recorded %d intents in %d messages",
        len(decided.recorded.decision.drafts),
        len(decided.recorded.message_ids),
    )
    return decided.as_dict()


@task(name="deliver", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def deliver_step(channel: str, as_of: str) -> dict[str, Any]:
    """Send one channel's due messages (all of them: one step run per channel, not per unit)."""
    settings = get_settings()
    engine = open_database(settings.database_url)
    try:
        report = deliver_channel(
            engine=engine,
            settings=settings,
            channel=ChannelName(channel),
            now=parse_instant(as_of),
        )
    finally:
        engine.dispose()
    result = report.as_dict()
    get_run_logger().info("%s: %s", channel, result)
    return result
