"""Escalation fan-out: dondoc's delivery of the day's messages against a raw sender.

The day is 11/01/2024 09:00, three working days before the January deadline: every commune
with a reporting officer gets one reminder by email (local SMTP sink) and one by Zalo Bot (a
local HTTP sink speaking its contract). dondoc's side is
`notifications.daily_check.deliver_channel` per channel, one message at a time: it reads the
messages 100 at a time, and for each one re-checks its items, renders, sends through the
channel (one SMTP connection, or one keep-alive HTTP connection, for the whole run) and marks
it sent in its own commit. The raw side sends the very same texts one at a time too (the
same concurrency): aiosmtplib over one SMTP connection, httpx over one keep-alive
connection, and no database. A second raw figure opens a new connection per message, to show
what connection set-up costs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import partial
from typing import Any

import aiosmtplib
import httpx
import pendulum
from pydantic import SecretStr
from sqlalchemy import Engine, delete, func, select, update

from benchmarks.sinks import HOST, Sinks
from benchmarks.timing import peak_mib
from models.outbox import OutboxIntent, OutboxMessage, OutboxStatus
from notifications.channels import ChannelName
from notifications.daily_check import deliver_channel
from notifications.deciding import record_decision
from notifications.email import build_mail, message_id
from settings import Settings, SmtpSettings, ZaloSettings

AS_OF = pendulum.datetime(2024, 1, 11, 9, tz="Asia/Ho_Chi_Minh")
SENDER = "dondoc@example.org"
BOT_TOKEN = "bench-bot-token"  # noqa: S105 - a local sink's fake token


def settings_for(engine: Engine, sinks: Sinks) -> Settings:
    """Email to the SMTP sink, Zalo Bot to the HTTP sink; nothing else."""
    return Settings(
        _env_file=None,
        database_url=engine.url.render_as_string(hide_password=False),
        smtp=SmtpSettings(host=HOST, port=sinks.smtp_port, sender=SENDER),
        zalo=ZaloSettings(bot_token=SecretStr(BOT_TOKEN), bot_api_base=sinks.http_base),
        webhooks={},
    )


def reset_outbox(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(OutboxIntent))
        conn.execute(delete(OutboxMessage))


def requeue(engine: Engine, now: datetime) -> None:
    """Put every message back as pending, so the same delivery can be timed again."""
    with engine.begin() as conn:
        conn.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                sent_at=None,
                last_attempt_at=None,
                provider_id=None,
            )
        )
        conn.execute(
            update(OutboxIntent).values(
                status=OutboxStatus.PENDING.value, closed_at=None, note=None
            )
        )


def _count(engine: Engine, channel: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.channel == channel)
        ).scalar_one()


def _rendered(engine: Engine, channel: str) -> list[tuple[str, str, str, str]]:
    """(key, address, subject, body) of every message dondoc sent on the channel."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                OutboxMessage.key,
                OutboxMessage.address,
                OutboxMessage.subject,
                OutboxMessage.body,
            )
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status == OutboxStatus.SENT.value,
            )
            .order_by(OutboxMessage.id)
        ).all()
    return [(r[0], r[1], r[2] or "", r[3] or "") for r in rows]


def _mail(key: str, address: str, subject: str, body: str) -> str:
    # The very message dondoc's email channel writes.
    return build_mail(
        sender=(None, SENDER),
        to=(None, address),
        subject=subject,
        body=body,
        mid=message_id(key, parseaddr(SENDER)[1]),
    )


async def _raw_smtp(sinks: Sinks, messages: list[tuple[str, str, str, str]], reuse: bool) -> None:
    if reuse:
        async with aiosmtplib.SMTP(hostname=HOST, port=sinks.smtp_port) as smtp:
            for key, address, subject, body in messages:
                mail = _mail(key, address, subject, body)
                await smtp.sendmail(SENDER, [address], mail)
        return
    for key, address, subject, body in messages:
        async with aiosmtplib.SMTP(hostname=HOST, port=sinks.smtp_port) as smtp:
            mail = _mail(key, address, subject, body)
            await smtp.sendmail(SENDER, [address], mail)


async def _raw_http(sinks: Sinks, messages: list[tuple[str, str, str, str]], reuse: bool) -> None:
    url = f"{sinks.http_base}/bot{BOT_TOKEN}/sendMessage"
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1 if reuse else 0)
    async with httpx.AsyncClient(limits=limits, timeout=15) as client:
        for _key, address, _subject, body in messages:
            response = await client.post(url, json={"chat_id": address, "text": body})
            if response.json().get("ok") is not True:
                raise RuntimeError("the HTTP sink refused a message")


Raw = Callable[[Sinks, list[tuple[str, str, str, str]], bool], Awaitable[None]]


def _run_raw(
    raw: Raw, sinks: Sinks, messages: list[tuple[str, str, str, str]], reuse: bool
) -> None:
    asyncio.run(raw(sinks, messages, reuse))  # type: ignore[arg-type]


def _timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _channel(
    engine: Engine,
    sinks: Sinks,
    settings: Settings,
    now: datetime,
    name: ChannelName,
    sink_key: str,
    raw: Raw,
    repeat: int,
) -> dict[str, Any]:
    count = _count(engine, name.value)

    def ours() -> None:
        report = deliver_channel(engine=engine, settings=settings, channel=name, now=now)
        if len(report.sent) != count:
            raise AssertionError(f"{name}: sent {len(report.sent)} of {count}: {report}")

    def check(expected: int, who: str) -> None:
        got = sinks.stats()
        if got[sink_key] != expected or got["smtp_duplicates"]:
            raise AssertionError(f"{name}/{who}: the sink got {got}, expected {expected}")

    best = {"dondoc": float("inf"), "raw": float("inf")}
    for _ in range(repeat):
        requeue(engine, now)
        sinks.reset()
        best["dondoc"] = min(best["dondoc"], _timed(ours))
        check(count, "dondoc")  # every message arrived, none twice
        messages = _rendered(engine, name.value)
        sinks.reset()
        best["raw"] = min(best["raw"], _timed(partial(_run_raw, raw, sinks, messages, True)))
        check(count, "raw")
    # Once is enough for the decomposition figure: the raw sender, one connection per message.
    sinks.reset()
    best["raw_new"] = _timed(partial(_run_raw, raw, sinks, messages, False))
    check(count, "raw, new connections")
    requeue(engine, now)
    dondoc_peak = peak_mib(ours)
    raw_peak = peak_mib(partial(_run_raw, raw, sinks, messages, True))
    rate = {k: count / v for k, v in best.items()}
    return {
        "messages": count,
        "dondoc_s": best["dondoc"],
        "baseline_s": best["raw"],
        "raw_new_connection_s": best["raw_new"],
        "dondoc_per_s": rate["dondoc"],
        "baseline_per_s": rate["raw"],
        "raw_new_connection_per_s": rate["raw_new"],
        "rate_ratio": rate["dondoc"] / rate["raw"],
        "met": rate["dondoc"] >= rate["raw"] / 2,
        "dondoc_peak_mib": dondoc_peak,
        "baseline_peak_mib": raw_peak,
    }


def run(engine: Engine, sinks: Sinks, repeat: int = 2) -> dict[str, Any]:
    settings = settings_for(engine, sinks)
    now = datetime.fromtimestamp(AS_OF.timestamp(), UTC)
    reset_outbox(engine)
    start = time.perf_counter()
    recorded = record_decision(
        engine=engine,
        now=now,
        channels=[ChannelName.EMAIL.value, ChannelName.ZALO_BOT.value],
    )
    decide_s = time.perf_counter() - start
    channels = {
        ChannelName.EMAIL.value: _channel(
            engine, sinks, settings, now, ChannelName.EMAIL, "smtp", _raw_smtp, repeat
        ),
        ChannelName.ZALO_BOT.value: _channel(
            engine, sinks, settings, now, ChannelName.ZALO_BOT, "http", _raw_http, repeat
        ),
    }
    reset_outbox(engine)
    return {
        "benchmark": "fanout",
        "title": "escalation fan-out, one message at a time",
        "messages": len(recorded.message_ids),
        "decide_and_record_s": decide_s,
        "channels": channels,
        "goal": "dondoc's rate >= half the raw sender's, each channel",
        "met": all(c["met"] for c in channels.values()),
        "ratio": min(c["rate_ratio"] for c in channels.values()),
    }
